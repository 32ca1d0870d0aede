/** The report page's CSS, inline so that report.html is one self-contained file. */
export const PAGE_STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status-failed { color: #b00020; } .status-diverged { color: #b25f00; } .status-interrupted, .status-unfinished { color: #666; }
figure { margin: 1.5rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; max-width: 760px; }
pre { background: #f6f6f6; padding: 1rem; overflow-x: auto; font-size: 0.8rem; }
details > summary { cursor: pointer; color: #444; }
.notice { background: #fff6e0; padding: 0.5rem 1rem; }
`;

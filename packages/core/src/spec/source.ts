/**
 * Reading a spec file (YAML or JSON) and pointing back into it: an error about
 * `optimizers[0].lr` is reported at the line where that value is written.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { TdxError, type Problem } from '../errors.js';

export interface SpecSource {
  /** Absolute path of the spec file. */
  path: string;
  /** The parsed, not yet validated, content. */
  raw: unknown;
  /** `file:line:col` of the value at a path like `optimizers[0].lr`, or of its parent. */
  locate(path: string): string | undefined;
}

/** `sweep["optimizer.lr"][1]` -> ['sweep', 'optimizer.lr', 1]. */
function splitPath(path: string): Array<string | number> {
  const keys: Array<string | number> = [];
  for (const part of path.match(/\["[^"]*"\]|\[\d+\]|[^.[\]]+/g) ?? []) {
    if (part.startsWith('["')) keys.push(part.slice(2, -2));
    else keys.push(part.startsWith('[') ? Number(part.slice(1, -1)) : part);
  }
  return keys;
}

/** Deeper than any spec needs; deeper values would overflow recursive checks later. */
const MAX_DEPTH = 64;
/** A spec is a few kilobytes; a file of megabytes is not one. */
const MAX_SPEC_BYTES = 1_000_000;

/** How deeply objects and arrays nest in a parsed value (iterative: never overflows). */
export function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    max = Math.max(max, d + 1);
    if (max > MAX_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/** Reads and parses a spec file; SPEC_NOT_FOUND or SPEC_PARSE (with line and column) on failure. */
export function readSpecFile(file: string): SpecSource {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TdxError('SPEC_NOT_FOUND', `cannot read spec file ${file}`, {
      cause,
      hint: 'check the path; specs are YAML or JSON files such as recipes/quickstart.yaml',
    });
  }
  if (text.length > MAX_SPEC_BYTES)
    throw new TdxError(
      'SPEC_PARSE',
      `cannot parse spec file ${file}: it is ${text.length} characters long (at most ${MAX_SPEC_BYTES})`,
      { hint: 'a spec is a small YAML or JSON file; is this the right file?' },
    );
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000E-\u001F]/.test(text))
    throw new TdxError(
      'SPEC_PARSE',
      `cannot parse spec file ${file}: it holds binary data (control characters), not YAML or JSON`,
      { hint: 'check the path; specs are YAML or JSON text files such as recipes/quickstart.yaml' },
    );
  const lineCounter = new LineCounter();
  // merge: YAML merge keys (`<<: *base`), so a recipe can share one model config among sizes.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return {
        path: '',
        location: `${file}:${at.line}:${at.col}`,
        message: /call stack/i.test(e.message)
          ? 'it is nested too deeply to read'
          : e.message.split('\n')[0]!,
      };
    });
    throw new TdxError('SPEC_PARSE', `cannot parse spec file ${file}`, { problems });
  }
  let raw: unknown;
  try {
    // maxAliasCount: an alias that expands into millions of nodes (a "billion laughs") is
    // refused instead of exhausting memory.
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const reason =
      error instanceof RangeError
        ? 'it is nested too deeply'
        : /alias/i.test(message)
          ? `its aliases expand too far (${message})`
          : message;
    throw new TdxError('SPEC_PARSE', `cannot parse spec file ${file}: ${reason}`, {
      hint: 'a spec is a small mapping: write values out, or use a few anchors and aliases',
    });
  }
  const depth = nestingDepth(raw);
  if (depth > MAX_DEPTH)
    throw new TdxError(
      'SPEC_PARSE',
      `cannot parse spec file ${file}: it is nested ${depth} levels deep (at most ${MAX_DEPTH})`,
      { hint: 'a spec is a small mapping; no plugin config needs that much nesting' },
    );
  const locate = (dotted: string): string | undefined => {
    const keys = splitPath(dotted);
    // Walk down as far as the document goes: a missing key is reported at its parent.
    for (let n = keys.length; n >= 0; n--) {
      const node = doc.getIn(keys.slice(0, n), true) as Node | undefined;
      if (node && typeof node === 'object' && node.range) {
        const at = lineCounter.linePos(node.range[0]);
        return `${file}:${at.line}:${at.col}`;
      }
      if (n === 0 && (isMap(doc.contents) || isSeq(doc.contents))) return `${file}:1:1`;
    }
    return undefined;
  };
  return { path, raw, locate };
}

/** Where a value of the spec came from when it was not the file: `--set a.b=1`, `--backend cpu`. */
export interface SpecOverride {
  /** The path the override set, in `a.b[0].c` form. */
  path: string;
  /** How the user wrote it, to name in messages. */
  origin: string;
}

/** `a.b[0]` is `a.b[0]` itself or inside it. */
function isWithin(path: string, prefix: string): boolean {
  return (
    path === prefix ||
    path.startsWith(`${prefix}.`) ||
    path.startsWith(`${prefix}[`) ||
    prefix === ''
  );
}

/**
 * The source with problems under overridden paths located at the override (`(--set
 * optimizers[2].lr=0.1)`) instead of at a line of the file, which does not hold that value.
 */
export function overriddenSource(
  source: SpecSource,
  overrides: readonly SpecOverride[],
): SpecSource {
  return {
    ...source,
    locate: (path) => {
      // The last override wins, as it does for the value.
      const hit = [...overrides].reverse().find((o) => isWithin(path, o.path));
      return hit ? `(${hit.origin})` : source.locate(path);
    },
  };
}

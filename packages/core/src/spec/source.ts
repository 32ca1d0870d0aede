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
  const lineCounter = new LineCounter();
  // merge: YAML merge keys (`<<: *base`), so a recipe can share one model config among sizes.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return {
        path: '',
        location: `${file}:${at.line}:${at.col}`,
        message: e.message.split('\n')[0]!,
      };
    });
    throw new TdxError('SPEC_PARSE', `cannot parse spec file ${file}`, { problems });
  }
  const raw: unknown = doc.toJS();
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

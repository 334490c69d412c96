import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { ConfigIssue } from './errors.js';
import { INVALID, shown, type ListSchema, type ObjectSchema, type Report, type Schema } from './schema.js';

/** The converted value (meaningful only when `issues` is empty) and every problem found. */
export interface Validation {
  value: unknown;
  issues: ConfigIssue[];
}

interface Walk {
  doc: Document;
  lines: LineCounter;
  issues: ConfigIssue[];
  /** Offset of the node at each path visited, so cross-field checks can point at the right line. */
  positions: Map<string, number>;
  aliases: number;
}

// Nested aliases multiply (the "billion laughs"); a config has no use for more than a handful.
const MAX_ALIASES = 100;

const startOf = (node: unknown): number | undefined =>
  (node as { range?: [number, number, number] } | null)?.range?.[0];

const isNull = (node: unknown): boolean => node === null || node === undefined || (isScalar(node) && node.value === null);

const describe = (node: unknown): string => (isMap(node) ? 'a mapping' : isSeq(node) ? 'a list' : isScalar(node) ? shown(node.value) : 'nothing');

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

function issue(ctx: Walk, path: string, offset: number, message: string): void {
  const { line, col } = ctx.lines.linePos(offset);
  ctx.issues.push({ line, column: col, path, message });
}

function reporter(ctx: Walk, path: string, fallback: number): Report {
  return (sub, message) => issue(ctx, path + sub, ctx.positions.get(path + sub) ?? fallback, message);
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

function unknownKey(key: string, known: string[]): string {
  const close = known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? known.find((k) => distance(k, key) <= 2);
  return close === undefined ? `is not a known key (known keys: ${known.join(', ')})` : `is not a known key (did you mean "${close}"?)`;
}

function resolve(node: unknown, path: string, ctx: Walk): unknown {
  if (!isAlias(node)) return node;
  const offset = startOf(node) ?? 0;
  if (++ctx.aliases > MAX_ALIASES) {
    if (ctx.aliases === MAX_ALIASES + 1) issue(ctx, path, offset, `uses more than ${MAX_ALIASES} aliases`);
    return INVALID;
  }
  const target = node.resolve(ctx.doc);
  if (target === undefined) issue(ctx, path, offset, `refers to an unknown anchor *${node.source}`);
  return target ?? INVALID;
}

function walkObject(node: unknown, schema: ObjectSchema, path: string, offset: number, ctx: Walk): unknown {
  if (!isNull(node) && !isMap(node)) {
    const what = path === '' ? `the top level must be a mapping of ${Object.keys(schema.fields).join(', ')}` : 'must be a mapping';
    issue(ctx, path, offset, `${what} (got ${describe(node)})`);
    return INVALID;
  }
  const out: Record<string, unknown> = {};
  for (const pair of isMap(node) ? node.items : []) {
    const key = isScalar(pair.key) ? String(pair.key.value) : describe(pair.key);
    const keyOffset = startOf(pair.key) ?? offset;
    const childPath = join(path, key);
    const field = Object.hasOwn(schema.fields, key) ? schema.fields[key] : undefined;
    ctx.positions.set(childPath, keyOffset);
    if (field === undefined) issue(ctx, childPath, keyOffset, unknownKey(key, Object.keys(schema.fields)));
    // `key:` with nothing after it counts as absent, so a commented-out block keeps its defaults.
    else if (!isNull(pair.value)) out[key] = walk(pair.value, field.schema, childPath, keyOffset, ctx);
  }
  for (const [name, field] of Object.entries(schema.fields)) {
    if (name in out) continue;
    const childPath = join(path, name);
    if (field.required) issue(ctx, childPath, ctx.positions.get(childPath) ?? offset, 'is required');
    else if (field.default !== undefined) out[name] = structuredClone(field.default);
  }
  schema.check?.(out, reporter(ctx, path, offset));
  return out;
}

function walkList(node: unknown, schema: ListSchema, path: string, offset: number, ctx: Walk): unknown {
  const single = schema.single === true && schema.items.kind === 'scalar' ? schema.items : undefined;
  if (single !== undefined && isScalar(node)) {
    const item = walk(node, single, path, offset, ctx);
    return item === INVALID ? INVALID : [item];
  }
  // A lone mapping stands for a list of one (`gateway: { lan: eth1 }`).
  if (schema.single === true && schema.items.kind === 'object' && isMap(node)) {
    const item = walk(node, schema.items, path, offset, ctx);
    return item === INVALID ? INVALID : [item];
  }
  if (!isSeq(node)) {
    const what = single === undefined ? (schema.single === true ? 'a mapping or a list of them' : 'a list') : `${single.expected} or a list of them`;
    issue(ctx, path, offset, `must be ${what} (got ${describe(node)})`);
    return INVALID;
  }
  const out = node.items.map((item, i) => walk(item, schema.items, `${path}[${i}]`, startOf(item) ?? offset, ctx));
  if (schema.minItems !== undefined && out.length < schema.minItems) issue(ctx, path, offset, `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
  schema.check?.(out, reporter(ctx, path, offset));
  return out;
}

function walk(raw: unknown, schema: Schema, path: string, fallback: number, ctx: Walk): unknown {
  const node = resolve(raw, path, ctx);
  if (node === INVALID) return INVALID;
  const offset = startOf(node) ?? fallback;
  ctx.positions.set(path, offset);
  if (schema.kind === 'object') return walkObject(node, schema, path, offset, ctx);
  if (schema.kind === 'list') return walkList(node, schema, path, offset, ctx);
  if (!isScalar(node)) {
    issue(ctx, path, offset, `must be ${schema.expected} (got ${describe(node)})`);
    return INVALID;
  }
  const result = schema.parse(node.value, node.source ?? String(node.value));
  if (result.ok) return result.value;
  issue(ctx, path, offset, result.message);
  return INVALID;
}

/** Checks a parsed YAML document against `schema`: YAML syntax errors first (the tree is not trusted then), else every schema problem. */
export function validateDocument(doc: Document, lines: LineCounter, schema: Schema): Validation {
  const ctx: Walk = { doc, lines, issues: [], positions: new Map(), aliases: 0 };
  for (const problem of [...doc.errors, ...doc.warnings]) {
    const at = problem.linePos?.[0] ?? lines.linePos(problem.pos[0]);
    // yaml appends " at line L, column C:" and a source excerpt; the issue carries the position already.
    const message = (problem.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    ctx.issues.push({ line: at.line, column: at.col, path: '', message: `YAML: ${message}` });
  }
  if (ctx.issues.length > 0) return { value: INVALID, issues: ctx.issues };
  const value = walk(doc.contents, schema, '', 0, ctx);
  ctx.issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return { value, issues: ctx.issues };
}

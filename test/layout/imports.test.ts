/**
 * The import map of src/ stays as docs/ARCHITECTURE.md draws it ("Rooms"): no file imports one that
 * imports it back (type imports count: a type circle is still a circle), every arrow between rooms
 * points down the order below, workflows import only what the deterministic bundle may hold, and
 * core/ and config/ import no package with I/O. Read from the source with the TypeScript parser.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');

interface Edge {
  from: string;
  to: string; // a file of src/ (relative), or a package name
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function resolve(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return path.relative(SRC, c);
  throw new Error(`${path.relative(SRC, from)} imports ${spec}, which is no file of src/`);
}

/** Every import, export-from, dynamic import() and require() of a file. */
function edgesOf(file: string): Edge[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: Edge[] = [];
  const add = (spec: ts.Expression, typeOnly: boolean) => {
    if (ts.isStringLiteral(spec)) out.push({ from: path.relative(SRC, file), to: resolve(file, spec.text), typeOnly });
  };
  const visit = (n: ts.Node) => {
    if (ts.isImportDeclaration(n)) {
      const c = n.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : null;
      // `import type ...`, or `import { type A, type B }` with nothing else: erased from the JS
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(n.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier) {
      const named = n.exportClause && ts.isNamedExports(n.exportClause) ? n.exportClause.elements : null;
      add(n.moduleSpecifier, n.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (ts.isCallExpression(n) && n.arguments.length === 1 && (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === 'require'))) {
      add(n.arguments[0], false);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const FILES = sourceFiles(SRC);
const EDGES = FILES.flatMap(edgesOf);
const isLocal = (to: string) => to.endsWith('.ts') || to.endsWith('.json');

/** The room of a file: its folder under src/, or the file itself for src/*.ts. */
const roomOf = (file: string) => (file.includes(path.sep) ? file.split(path.sep)[0] : file);

/**
 * The order of the rooms, lowest first: a room imports only rooms lower than itself (and its own
 * files). `types.ts` holds the contracts (types only), re-exported from config/'s schemas, so it
 * stands above config/; a type-only import of it is allowed from every room.
 */
const ORDER: string[][] = [
  ['failure-types.json'],
  ['constants.ts', 'failures.ts'],
  ['core'],
  ['config'],
  ['types.ts'],
  ['storage', 'llm', 'connection.ts'],
  ['tasks', 'report'],
  ['activities'],
  ['workflows', 'client.ts', 'workflowBundle.ts'],
  ['cli', 'worker.ts'],
];
const rank = (room: string) => {
  const r = ORDER.findIndex((rooms) => rooms.includes(room));
  if (r < 0) throw new Error(`room ${room} has no place in ORDER (test/layout/imports.test.ts): add it where it belongs`);
  return r;
};

/** Strongly connected groups of more than one file (Tarjan), each sorted. */
function cycles(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (isLocal(e.to)) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push(group.sort());
    }
  };
  for (const f of next.keys()) if (!index.has(f)) connect(f);
  return out;
}

test('the parser sees the imports: a type import, a value import and an export-from of a known file', () => {
  const common = EDGES.filter((e) => e.from === path.join('workflows', 'common.ts'));
  expect(common).toContainEqual({ from: path.join('workflows', 'common.ts'), to: path.join('activities', 'index.ts'), typeOnly: true });
  expect(common).toContainEqual({ from: path.join('workflows', 'common.ts'), to: 'failures.ts', typeOnly: false });
  expect(EDGES).toContainEqual({ from: path.join('config', 'index.ts'), to: path.join('config', 'inputs.ts'), typeOnly: false });
});

test('the cycle finder finds a circle of three and a type circle of two, and nothing in a chain', () => {
  const e = (from: string, to: string, typeOnly = false): Edge => ({ from, to, typeOnly });
  expect(cycles([e('a.ts', 'b.ts'), e('b.ts', 'c.ts'), e('c.ts', 'a.ts'), e('c.ts', 'd.ts'), e('x.ts', 'y.ts', true), e('y.ts', 'x.ts')])).toEqual([
    ['a.ts', 'b.ts', 'c.ts'],
    ['x.ts', 'y.ts'],
  ]);
  expect(cycles([e('a.ts', 'b.ts'), e('b.ts', 'c.ts')])).toEqual([]);
});

test('no import circles in src/ (type imports included)', () => {
  expect(cycles(EDGES)).toEqual([]);
});

test('every arrow between rooms points down (docs/ARCHITECTURE.md "Rooms")', () => {
  const up = EDGES.filter((e) => isLocal(e.to) && roomOf(e.from) !== roomOf(e.to))
    .filter((e) => !(e.to === 'types.ts' && e.typeOnly))
    .filter((e) => rank(roomOf(e.to)) >= rank(roomOf(e.from)))
    .map((e) => `${e.from} -> ${e.to}`);
  expect(up).toEqual([]);
});

test('workflows import only what the workflow bundle may hold: core, config, the contracts, activity types, the workflow SDK', () => {
  const allowed = new Set(['workflows', 'core', 'config', 'constants.ts', 'failures.ts', 'failure-types.json', 'types.ts']);
  const bad = EDGES.filter((e) => roomOf(e.from) === 'workflows')
    .filter((e) => (isLocal(e.to) ? !allowed.has(roomOf(e.to)) && !(roomOf(e.to) === 'activities' && e.typeOnly) : e.to !== '@temporalio/workflow'))
    .map((e) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`);
  expect(bad).toEqual([]);
});

test('core/ imports no package and config/ only zod: pure rules and schemas, no I/O', () => {
  const bad = EDGES.filter((e) => !isLocal(e.to) && (roomOf(e.from) === 'core' || (roomOf(e.from) === 'config' && e.to !== 'zod'))).map((e) => `${e.from} -> ${e.to}`);
  expect(bad).toEqual([]);
});

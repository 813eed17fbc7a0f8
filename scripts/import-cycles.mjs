// Fails on an import cycle between the source modules of packages/*/src (tests aside): a cycle means two
// modules that cannot be understood, or changed, one without the other. Type-only imports count too.
// Usage: node scripts/import-cycles.mjs   (exit 1 and the cycles, or nothing)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const packages = join(root, "packages");

function sources(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === "node_modules" || n === "__golden__" || n === "testing" ? [] : sources(p);
    return /\.ts$/.test(n) && !/\.test\.ts$/.test(n) && !n.endsWith(".d.ts") ? [p] : [];
  });
}

/** `@multiarch/NAME` → that package's entry (src/index.ts). */
const entry = (spec) => {
  const m = /^@multiarch\/([^/]+)$/.exec(spec);
  return m ? join(packages, m[1], "src/index.ts") : undefined;
};

function importsOf(file) {
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
  const out = [];
  for (const m of text.matchAll(/(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = m[1] ?? m[2];
    const target = spec.startsWith(".") ? resolve(dirname(file), spec) : entry(spec);
    if (target && existsSync(target)) out.push(target);
  }
  return out;
}

export function findCycles(files) {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t !== f)]));
  const cycles = [];
  const state = new Map(); // 1 on the stack, 2 done
  const stack = [];
  const visit = (f) => {
    state.set(f, 1);
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 1) cycles.push([...stack.slice(stack.indexOf(t)), t]);
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = readdirSync(packages).flatMap((p) => (existsSync(join(packages, p, "src")) ? sources(join(packages, p, "src")) : []));
  const cycles = findCycles(files);
  for (const c of cycles) console.error(`import cycle: ${c.map((f) => relative(root, f)).join(" -> ")}`);
  if (cycles.length > 0) {
    console.error(`${cycles.length} import cycle(s): move what both sides need into a module of its own`);
    process.exitCode = 1;
  }
}

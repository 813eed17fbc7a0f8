// The FROM lines of a Dockerfile, as BuildKit reads them: line continuations, global ARG defaults
// substituted ($VAR, ${VAR}, ${VAR:-default}), build args from the spec winning over defaults, stage
// names and named contexts told apart from images, scratch known; and whether a Dockerfile holds a step
// as BuildKit names it in its log. Pure: text in, references out.

export interface FromLine {
  /** 1-based line of the FROM instruction. */
  line: number;
  /** The image as written after substitution (e.g. debian:12, ${BASE} resolved). */
  ref: string;
  /** An earlier stage, a named build context, scratch, or an image to pull. */
  kind: "stage" | "context" | "scratch" | "image";
  /** --platform=… as written (after substitution), if any. */
  platform?: string;
  /** Unresolved variables left in the reference (an ARG without a default and no build arg). */
  unresolved?: string[];
}

const AUTOMATIC = Object.fromEntries(
  ["BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"].map((n) => [n, `$${n}`]),
);
const VAR = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** Logical instructions: continuation lines joined, comments and parser directives dropped. */
/** Each instruction: its first and last line (continuations joined), and its text. */
function instructions(text: string): { line: number; end: number; text: string }[] {
  const out: { line: number; end: number; text: string }[] = [];
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const escapeChar = /^#\s*escape\s*=\s*`/im.test(lines.slice(0, 5).join("\n")) ? "`" : "\\";
  let current: { line: number; end: number; text: string } | undefined;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (!current && (trimmed === "" || trimmed.startsWith("#"))) return;
    if (current && trimmed.startsWith("#")) return; // comments inside a continued instruction
    const continued = trimmed.endsWith(escapeChar);
    const body = continued ? trimmed.slice(0, -1) : trimmed;
    if (current) {
      current.text += ` ${body}`;
      current.end = i + 1;
    } else current = { line: i + 1, end: i + 1, text: body };
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  });
  if (current) out.push(current);
  return out;
}

export function substitute(s: string, vars: Readonly<Record<string, string | undefined>>, unresolved: string[] = []): string {
  return s.replace(VAR, (_m, braced: string | undefined, op: string | undefined, word: string | undefined, plain: string | undefined) => {
    const name = (braced ?? plain)!;
    const value = vars[name];
    if (op === "-") return value ? value : (word ?? "");
    if (op === "+") return value ? (word ?? "") : "";
    if (value === undefined) unresolved.push(name);
    return value ?? "";
  });
}

/**
 * FROM lines with their references resolved. `buildArgs` are the spec's args for the image (they
 * override global ARG defaults); `contexts` are the named build contexts (a FROM of that name uses it).
 */
export function fromLines(text: string, buildArgs: Readonly<Record<string, string>> = {}, contexts: readonly string[] = []): FromLine[] {
  const globals: Record<string, string | undefined> = {};
  const stages = new Set<string>();
  const out: FromLine[] = [];
  let seenFrom = false;
  for (const ins of instructions(text)) {
    const [keyword = "", ...rest] = ins.text.split(/\s+/);
    const word = keyword.toUpperCase();
    if (word === "ARG" && !seenFrom) declareArgs(rest, globals, buildArgs);
    else if (word === "FROM") {
      seenFrom = true;
      const flags = rest.filter((r) => r.startsWith("--"));
      const args = rest.filter((r) => !r.startsWith("--"));
      const unresolved: string[] = [];
      const ref = substitute(args[0] ?? "", globals, unresolved);
      const platformFlag = flags.find((f) => f.startsWith("--platform="));
      const entry: FromLine = {
        line: ins.line,
        ref,
        kind: ref.toLowerCase() === "scratch" ? "scratch" : stages.has(ref.toLowerCase()) ? "stage" : contexts.includes(ref) ? "context" : "image",
      };
      // The automatic platform args stay as written: they differ per build, not per Dockerfile.
      if (platformFlag) entry.platform = substitute(platformFlag.slice("--platform=".length), { ...AUTOMATIC, ...globals });
      if (unresolved.length) entry.unresolved = unresolved;
      out.push(entry);
      if (args[1]?.toUpperCase() === "AS" && args[2]) stages.add(args[2].toLowerCase());
    }
  }
  return out;
}

/** Global ARG declarations (before the first FROM): build args win over defaults. */
function declareArgs(decls: readonly string[], globals: Record<string, string | undefined>, buildArgs: Readonly<Record<string, string>>): void {
  for (const decl of decls) {
    const eq = decl.indexOf("=");
    const name = eq === -1 ? decl : decl.slice(0, eq);
    const dflt = eq === -1 ? undefined : decl.slice(eq + 1).replace(/^["']|["']$/g, "");
    globals[name] = buildArgs[name] ?? (dflt === undefined ? undefined : substitute(dflt, globals));
  }
}

/** An image a step reads besides its FROM: `COPY --from=IMAGE`, `RUN --mount=…,from=IMAGE`. */
export interface ImageReference {
  /** 1-based line of the instruction. */
  line: number;
  ref: string;
}

/**
 * The images COPY --from and RUN --mount from= pull: not an earlier stage (by name or index), not a
 * named context, with global ARGs substituted. One whose variables have no value here is left out
 * (a stage's own ARG may give it one). Their content is the image's input as much as a FROM's is.
 */
export function imageReferences(text: string, buildArgs: Readonly<Record<string, string>> = {}, contexts: readonly string[] = []): ImageReference[] {
  const globals: Record<string, string | undefined> = {};
  const stages = new Set<string>();
  let stageCount = 0;
  const out: ImageReference[] = [];
  const add = (line: number, written: string) => {
    const unresolved: string[] = [];
    const ref = substitute(written, globals, unresolved);
    if (unresolved.length || ref === "" || /^\d+$/.test(ref) || stages.has(ref.toLowerCase()) || contexts.includes(ref)) return;
    if (!out.some((r) => r.ref === ref)) out.push({ line, ref });
  };
  for (const ins of instructions(text)) {
    const [keyword = "", ...rest] = ins.text.split(/\s+/);
    const word = keyword.toUpperCase();
    if (word === "ARG" && stageCount === 0) declareArgs(rest, globals, buildArgs);
    else if (word === "FROM") {
      const args = rest.filter((r) => !r.startsWith("--"));
      if (args[1]?.toUpperCase() === "AS" && args[2]) stages.add(args[2].toLowerCase());
      stageCount++;
    } else if (word === "COPY") {
      for (const flag of rest.filter((r) => r.startsWith("--from="))) add(ins.line, flag.slice("--from=".length));
    } else if (word === "RUN") {
      for (const flag of rest.filter((r) => r.startsWith("--mount="))) {
        const from = flag
          .slice("--mount=".length)
          .split(",")
          .find((o) => o.startsWith("from="));
        if (from) add(ins.line, from.slice("from=".length));
      }
    }
  }
  return out;
}

const words = (s: string) => s.trim().replace(/\s+/g, " ");
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Where the Dockerfile has the instruction BuildKit names a step by ("RUN make" in
 * "#12 [linux/amd64 3/4] RUN make"), each match's first and last line: BuildKit joins continuation lines,
 * writes the keyword in capitals, expands variables (each $VAR, ${VAR…} here stands for whatever it
 * became) and names a FROM by its image with the digest it resolved, without the stage name.
 */
export function instructionLines(text: string, shown: string): { line: number; end: number }[] {
  const want = words(shown).replace(/^FROM (.*?)@sha256:[0-9a-f]{64}$/i, "FROM $1");
  return instructions(text)
    .filter((ins) => {
      const [keyword = "", ...rest] = words(ins.text).split(" ");
      const upper = keyword.toUpperCase();
      const as = upper === "FROM" ? rest.findIndex((w) => w.toUpperCase() === "AS") : -1;
      const written = [upper, ...(as < 0 ? rest : rest.slice(0, as))].join(" ");
      let pattern = "";
      let at = 0;
      for (const m of written.matchAll(VAR)) {
        pattern += `${escapeRegExp(written.slice(at, m.index))}.*`;
        at = m.index + m[0].length;
      }
      return new RegExp(`^${pattern}${escapeRegExp(written.slice(at))}$`, "s").test(want);
    })
    .map(({ line, end }) => ({ line, end }));
}

// argv -> exit code. The only place that decides what is printed and how the process ends.
// Command modules load lazily, so `validate` never pays for the executor and `--help` for nothing.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { closest } from "@multiarch/plan/suggest";
import pkg from "../package.json" with { type: "json" };
import { type CommandDef, EXIT, JSON_VERSION, type Outcome } from "./context.ts";
import { type Io, printDiagnostics } from "./format.ts";
import { type CommandName, OPTIONS, type OptionSpec, type OptionTable, type Values } from "./options.ts";

const EXIT_CODES = `Exit codes: 0 success, 1 spec or usage error (nothing run), 2 a build, push, login or test failed (or the registry
could not be read), 3 verification failed, 4 the engine cannot run the plan or cannot sign it (or a file cannot be written, or the
current folder read), 5 another run holds this spec's lock or its output folder's, 70 internal error, 130 interrupted (children
stopped; the report lists each tag that had already moved).`;

export const COMMANDS: { [C in CommandName]: CommandDef<C> } = {
  validate: {
    summary: "check multiarch.yaml and report every problem with its line",
    about: `Checks everything plan checks: YAML, schema, platforms, references, templates, paths, dependencies,
and the environment (variables, git facts, rendered tags, secret sources). Runs no docker command.
Prints FILE:LINE:COL: message with a hint and the lines around it. While nothing it read has changed,
the same command in the same folder is answered from a cache (MULTIARCH_NO_CACHE=1: never).`,
    footer: "Exit codes: 0 valid (warnings may be printed), 1 invalid, 4 the current folder cannot be read, 70 internal error.",
    load: () => import("./commands/validate.ts"),
  },
  plan: {
    summary: "write the bake file, plan.json and per-arch plans; print a summary",
    about: `Compiles the spec into exactly what apply will run, and writes into DIR:
  docker-bake.json          buildx bake file: one target per image, group "default"
  docker-bake.publish.json  override for builders that push themselves: each image by digest, no tag
  plan.json                 stages of steps, each a program and an argument array
  plans/<os>-<arch>.json    each platform's share, for a native machine of that arch`,
    footer:
      "Exit codes: 0 written, 1 spec or usage error (nothing written), 4 a file cannot be written (or the current folder read), 5 another run holds this spec's lock or its output folder's, 70 internal error, 130 interrupted.",
    load: () => import("./commands/plan.ts"),
  },
  apply: {
    summary: "plan, then build, push, verify, test and publish",
    about: `Compiles the spec (or reads a saved plan) and runs it:
  login    docker login for registries with credentials (password through stdin)
  build    docker buildx bake (or per-arch docker buildx build); no tag is written
  push     each image by digest (no tag), over the registry API
  verify   each index this run pushed must hold exactly the requested platforms
  test     the image's test.run on every platform, from the verified digest
  sign     with sign: in the spec, cosign signs each verified index
  publish  user tags point at the verified index, one at a time, latest last
  cleanup  what this run wrote (its layouts, images it loaded to test) is removed
All or nothing by default: a failure stops the run before publish, and no image is published.
--continue: a failed image holds back only itself and the images built FROM it (skipped); every other
image is built, verified, tested and published, and the exit code still says what failed. A run
narrowed by --platform, --no-publish or --load publishes nothing. Before building, each image's inputs
are hashed (Dockerfile, context after .dockerignore, build definition, base image digests,
dependencies) and compared with what its tags hold: an image whose tags all hold its inputs' result is
"up to date" and runs nothing.`,
    footer: EXIT_CODES,
    load: () => import("./commands/apply.ts"),
  },
  merge: {
    summary: "put the shards of several machines (apply --shard) together and publish",
    about: `Reads the shard files that apply --shard wrote on each machine, checks they belong to this spec's
plan at this commit, cover every planned platform of every image and were built from this checkout's
inputs (files, --set values, base image digests), then per image and registry:
  merge    one index of the per-platform images, pushed by digest (no tag) over the registry API
  verify   the index holds exactly the planned platforms, each the very image its shard pushed, built from those inputs
  publish  user tags point at the verified index, one at a time, latest last
A missing or foreign shard moves no tag and names what is missing (exit 3).`,
    footer: EXIT_CODES,
    load: () => import("./commands/merge.ts"),
  },
  promote: {
    summary: "point the spec's tags for a version at that version's index (roll back), or copy it between registries",
    positionals: "VERSION",
    about: `Renders the spec's tags with its version variable set to VERSION (tags made from git.* are left out:
they name a build) and, without building anything, per image and repository:
  verify     the index VERSION's tag holds (the first tag that is not latest) has exactly the planned platforms
  signature  with sign: in the spec, it carries a signature the spec's key verifies (an unsigned one is refused)
  copy       --from/--to: that index copied by digest over the registry API into the --to registry;
             verified there to be the very same index, then signed there
  publish    as apply: each tag to the verified digest, one at a time, latest last; tags that already
             hold it are left alone
After a bad 1.5.0, \`multiarch promote 1.4.2\` moves latest, 1 and 1.4 back to 1.4.2's index.`,
    footer: EXIT_CODES,
    load: () => import("./commands/promote.ts"),
  },
  graph: {
    summary: "draw the images, their platforms and registries, and what builds FROM what",
    about: `Prints the spec's images as nodes (platforms, registries; internal images dashed, groups as boxes) and
its image: links as edges. Mermaid renders in GitHub markdown as it is; dot for Graphviz; json for tools.`,
    footer: "Exit codes: 0 printed, 1 spec or usage error, 4 the current folder cannot be read, 70 internal error.",
    load: () => import("./commands/graph.ts"),
  },
  doctor: {
    summary: "check this machine can apply the spec (docker, buildx, QEMU, builder, registries, base images)",
    about: `Checks, each ok / warning / failed with what was found and the fix: the docker CLI (>= 19.03) and
engine (which DOCKER_HOST / context), buildx (experimental mode on old CLIs), the kernel (>= 4.8),
binfmt_misc and a QEMU handler with the F flag for every foreign platform the spec asks for (and QEMU's
version, update-binfmts >= 2.1.7), the builder (exists, driver, platforms, what strategy auto picks), each
registry (reachable over its scheme, credentials present and accepted; never printed), each external
base image (offers every platform its image asks for), cosign when the spec signs, and Dockerfiles that
compile under emulation or write an architecture into a download URL.
--fix makes the safe, local repairs and says each command first: mount binfmt_misc, register the
installed QEMU handlers with the F flag, create the builder the spec defines. It never installs packages.`,
    footer:
      "Exit codes: 0 the spec can be applied here (warnings may be printed), 1 a check failed (or a spec error), 4 the current folder cannot be read, 70 internal error, 130 interrupted.",
    load: () => import("./commands/doctor.ts"),
  },
  inspect: {
    summary: "show the platforms, digests and sizes a pushed image holds (--expect for CI)",
    positionals: "REF",
    about: `Reads REF over the registry API (no engine needed; docker's stored credentials are used) and prints
each platform's image with its digest and size (manifest, config and layers), attestations apart.
--expect linux/amd64,linux/arm64 exits 3 unless the image holds exactly those platforms; --key cosign.pub
exits 3 unless cosign verifies REF's signature with that key (transparency log not required).`,
    footer:
      "Exit codes: 0 read (and as expected), 1 usage error (a --key that cannot be read too), 2 cannot be read, 3 not the expected platforms, or no signature the key verifies, 4 the current folder cannot be read, 70 internal error, 130 interrupted.",
    load: () => import("./commands/inspect.ts"),
  },
  import: {
    summary: "write a multiarch.yaml from a bake file (docker buildx bake --print)",
    positionals: "[TARGET|GROUP]...",
    about: `Takes bake's own arguments, runs docker buildx bake --print with them (variables, functions, inherits
and matrix resolved by buildx) and writes an equivalent multiarch.yaml: shared platforms, args and labels
lifted into defaults, target: contexts as image: links, untagged targets that others build FROM (or
output=type=cacheonly) as internal images, registries and repositories factored out of the tags, groups
kept. What it cannot carry is printed as a warning and listed at the top of the file.`,
    footer:
      "Exit codes: 0 written, 1 usage error, or a bake file bake refuses, 2 written but it does not validate yet (edit it), 4 bake --print failed (or a file cannot be written), 70 internal error, 130 interrupted.",
    load: () => import("./commands/import.ts"),
  },
  ci: {
    summary: "write a CI workflow: a native job per platform (apply --shard), then a merge job",
    positionals: "github|gitlab",
    about: `Writes the CI configuration that builds each planned platform on its own native runner (QEMU only
where none exists; 32-bit arm on an arm64 runner). Pull/merge requests build, verify and test each
platform and push nothing (apply --no-push: no secret needed, forks work). The default branch and tags
push each platform with apply --shard, upload the shard files, and merge them in a last job with
multiarch merge, the only job that moves tags. Each job gets the least permissions (packages: write
for ghcr.io) and a timeout; credentials come from CI secrets and variables of the names the spec reads
(ghcr.io: the workflow's own token).
  github   .github/workflows/multiarch.yml
  gitlab   .gitlab-ci.yml (parallel: matrix, docker-in-docker)`,
    footer: "Exit codes: 0 written, 1 spec or usage error (nothing written), 4 a file cannot be written, 70 internal error.",
    load: () => import("./commands/ci.ts"),
  },
};

const HELP = `multiarch: one multiarch.yaml in, multi-arch images out.

Usage: multiarch <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(10)}${c.summary}`)
  .join("\n")}

Run multiarch <command> --help (or multiarch help <command>) for its options.
${EXIT_CODES}`;

const flagOf = (name: string, o: OptionSpec) => `${o.short ? `-${o.short}, ` : "    "}--${name}${o.value ? ` ${o.value}` : ""}`;

export function commandHelp(name: CommandName): string {
  const cmd = COMMANDS[name];
  const options: OptionTable = OPTIONS[name];
  const usage = `multiarch ${name} ${cmd.positionals ? `${cmd.positionals} ` : ""}${Object.entries(options)
    .filter(([n]) => n !== "help")
    .map(([n, o]) => `[--${n}${o.value ? ` ${o.value}` : ""}]${o.multiple ? "..." : ""}`)
    .join(" ")}`;
  const flags = Object.entries(options).map(([n, o]) => [flagOf(n, o), o.description] as const);
  const width = Math.max(...flags.map(([f]) => f.length)) + 2;
  return [`usage: ${usage}`, "", cmd.about, "", ...flags.map(([f, d]) => `  ${f.padEnd(width)}${d}`), ...(cmd.footer ? ["", cmd.footer] : [])].join("\n");
}

/**
 * -o=DIR as --out=DIR: parseArgs reads a short option's "=value" as a value starting with "=" (a folder
 * named "=", a file "=x"). Only before "--", and only for short options that take a value.
 */
function splitShortEquals(args: readonly string[], options: OptionTable): string[] {
  const end = args.indexOf("--");
  return args.flatMap((a, i) => {
    const m = (end === -1 || i < end) && /^-([A-Za-z])=(.*)$/s.exec(a);
    return m && Object.values(options).some((o) => o.short === m[1] && o.type === "string") ? [`-${m[1]}`, m[2]!] : [a];
  });
}

type Parsed = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Comma lists (--platform linux/amd64,linux/arm64) as the repeated flag. */
function splitCommaLists(values: Parsed, options: OptionTable): Parsed {
  const out = { ...values };
  for (const [n, o] of Object.entries(options)) {
    const v = out[n];
    // an empty item stays, to be refused as a platform (comma lists are string options: every item is a string)
    if (o.commaList && Array.isArray(v))
      out[n] = v.flatMap((x) =>
        String(x)
          .split(",")
          .map((p) => p.trim()),
      );
  }
  return out;
}

/** node's parseArgs messages name its internals; say what the user typed and what would work. */
function usageMessage(e: unknown, options: OptionTable): string {
  const err = e as { code?: string; message?: string };
  const msg = err.message ?? String(e);
  const flag = /'(-{1,2}[^' ,]+)/.exec(msg)?.[1];
  const name = flag?.replace(/^-+/, "");
  const known = name ? Object.entries(options).find(([n, o]) => n === name || o.short === name) : undefined;
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && known) {
    const [n, o] = known;
    // parseArgs reads a value starting with - (--concurrency -1) as an option: say it is the value that is wrong
    const dashed = o.type === "string" && /argument is ambiguous/.test(msg);
    return o.type === "string"
      ? dashed
        ? `--${n} was given a value starting with -: write it --${n}=VALUE if that is what you meant (${flagOf(n, o).trim()})`
        : `--${n} needs a value: ${flagOf(n, o).trim()}`
      : `--${n} takes no value`;
  }
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && name) {
    const guess = closest(name, Object.keys(options));
    return `unknown option ${flag}${guess ? `; did you mean --${guess}?` : ""}`;
  }
  if (err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const arg = /'([^']*)'/.exec(msg)?.[1] ?? "";
    // a spec file named as an argument: -f names it
    const hint = /\.ya?ml$/i.test(arg) && "file" in options ? `; to read that spec, write -f ${arg}` : "; options start with --";
    return `unexpected argument ${arg}${hint}`;
  }
  return msg.split("\n")[0]!;
}

/** A command's words after its name, read through its option table (throws parseArgs' errors). */
export function parseCommandArgs<C extends CommandName>(name: C, args: readonly string[]): { values: Values<C>; positionals: string[] } {
  const table: OptionTable = OPTIONS[name];
  const options = Object.fromEntries(
    Object.entries(table).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  const parsed = parseArgs({
    args: splitShortEquals(args, table),
    options: options as NonNullable<ParseArgsConfig["options"]>,
    strict: true,
    allowPositionals: COMMANDS[name].positionals !== undefined,
    tokens: true,
  });
  // an option of one value given twice (-f a.yaml -f b.yaml): parseArgs keeps the last, silently
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option" || table[t.name]?.multiple || table[t.name]?.type === "boolean") continue;
    if (seen.has(t.name)) throw new Error(`--${t.name} was given twice; it takes one value`);
    seen.add(t.name);
  }
  // parseArgs typed each value from this very table (string, boolean, or a list when multiple)
  return { values: splitCommaLists(parsed.values, table) as Values<C>, positionals: parsed.positionals };
}

/** Parse, then run one command's module with its typed values; the command is passed, never an option. */
async function runCommand<C extends CommandName>(
  name: C,
  args: readonly string[],
  io: Io,
  signal: AbortSignal,
  json: boolean,
  finish: (command: string, o: Outcome) => number,
): Promise<number> {
  let parsed: { values: Values<C>; positionals: string[] };
  try {
    parsed = parseCommandArgs(name, args);
  } catch (e) {
    if (!json) io.stderr.write(`usage: multiarch ${name} [options]; multiarch ${name} --help lists them\n`);
    return finish(name, { exit: EXIT.usage, message: usageMessage(e, OPTIONS[name]) });
  }
  if (parsed.values.help) {
    io.stdout.write(`${commandHelp(name)}\n`);
    return EXIT.ok;
  }
  // an empty path (-o "", an unset shell variable) would be the current folder: never what was meant
  const values = parsed.values as Record<string, unknown>;
  const empty = ["out", "file"].find((k) => values[k] === "" || (Array.isArray(values[k]) && (values[k] as unknown[]).includes("")));
  if (empty) return finish(name, { exit: EXIT.usage, message: `--${empty} needs a path, not an empty value` });
  try {
    const mod = await COMMANDS[name].load();
    return finish(name, await mod.default({ command: name, ...parsed, io, signal, json }));
  } catch (e) {
    const fsError = fileSystemError(e, "out" in OPTIONS[name] && values.out === undefined);
    if (fsError) return finish(name, { exit: EXIT.environment, message: fsError });
    return finish(name, {
      exit: EXIT.internal,
      message: `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\nThis is a bug in multiarch; please report it with the command you ran.`,
    });
  }
}

/**
 * A file or folder that could not be written or read where the user pointed (-o into a file, a
 * read-only folder, a full disk, a folder under /proc): the machine's answer, not a bug. One sentence, exit 4.
 */
export function fileSystemError(e: unknown, defaultOut = false): string | undefined {
  const err = e as NodeJS.ErrnoException;
  // (a write that found the disk full names no path: node's ENOSPC from write() has none)
  if (!(e instanceof Error) || typeof err.code !== "string" || typeof err.syscall !== "string") return undefined;
  if (typeof err.path !== "string" && err.code !== "ENOSPC" && err.code !== "EDQUOT") return undefined;
  // makeDir's ENOENT: the folder above exists, the file system takes no new one there; mkdtemp's: the
  // temporary folder is not there (TMPDIR names none)
  const refusedFolder = err.code === "ENOENT" && (err.syscall === "mkdir" || err.syscall === "mkdtemp");
  if (!refusedFolder && !["ENOTDIR", "EISDIR", "EEXIST", "EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "ENAMETOOLONG", "ELOOP"].includes(err.code))
    return undefined;
  const what = err.message.replace(/^[A-Z]+: /, "").replace(/, \w+(?: '.*')?$/, "");
  // the default output folder of a checkout this user may not write (a read-only one): -o says where else
  const elsewhere =
    defaultOut && err.path !== undefined && ["EACCES", "EPERM", "EROFS"].includes(err.code) && /(^|[/\\])\.multiarch([/\\]|$)/.test(err.path)
      ? "; pass -o DIR to write the plan's files elsewhere"
      : "";
  const noTemp =
    err.syscall !== "mkdtemp"
      ? ""
      : err.code === "ENOENT"
        ? "; its folder, the temporary folder (TMPDIR), does not exist"
        : "; its folder is the temporary folder (TMPDIR)";
  return `cannot ${err.syscall}${err.path === undefined ? "" : ` ${err.path}`}: ${what} (${err.code})${elsewhere}${noTemp}`;
}

const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

/** The command words, --json before the command (multiarch --json validate) moved after it, and the command's name. */
export function commandOf(given: readonly string[]): { argv: readonly string[]; name: string | undefined } {
  const argv = given[0] === "--json" && given[1] !== undefined ? [given[1], "--json", ...given.slice(2)] : given;
  const [first, second] = argv;
  return { argv, name: first === "help" && second && !second.startsWith("-") ? second : first };
}

export async function run(given: readonly string[], io: Io, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const { argv, name } = commandOf(given);
  const [first, ...rest] = argv;
  // --json=1 is refused by the parser: as a usage error in JSON, not as text
  const json = argv.some((a) => a === "--json" || a.startsWith("--json="));
  const finish = (command: string, o: Outcome): number => {
    if (json) {
      const doc = {
        version: JSON_VERSION,
        command,
        ok: o.exit === 0,
        exitCode: o.exit,
        ...(o.message ? { message: o.message } : {}),
        errors: o.errors ?? [],
        warnings: o.warnings ?? [],
        ...o.data,
      };
      io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    }
    printDiagnostics([...(o.errors ?? []), ...(o.warnings ?? [])], io);
    if (o.message && !o.messageShown) io.stderr.write(`multiarch${command ? ` ${command}` : ""}: ${o.message}\n`);
    return o.exit;
  };
  if (name === undefined || name === "-h" || name === "--help" || (name === "help" && first === name)) {
    io.stdout.write(`${HELP}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-V") {
    io.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  // `multiarch --json` alone names no command: said as such, in the one JSON document
  if (name === "--json") return finish("", { exit: EXIT.usage, message: `no command given; commands: ${Object.keys(COMMANDS).join(", ")}` });
  if (!isCommand(name)) {
    // an option before the command (multiarch -f x.yaml validate): the command comes first
    const later = name.startsWith("-") ? argv.find((a) => isCommand(a)) : undefined;
    const guess = name.startsWith("-") ? undefined : closest(name, Object.keys(COMMANDS));
    if (!json) io.stderr.write(`${HELP}\n\n`);
    const why = later ? `; the command comes first: multiarch ${later} ${argv.filter((a) => a !== later).join(" ")}` : guess ? `; did you mean ${guess}?` : "";
    return finish(later ?? name, { exit: EXIT.usage, message: `unknown command "${name}"${why}` });
  }
  if (first === "help") {
    io.stdout.write(`${commandHelp(name)}\n`);
    return EXIT.ok;
  }
  return runCommand(name, rest, io, signal, json, finish);
}

// argv -> exit code. The only place that decides what is printed and how the process ends.
// Command modules load lazily, so `validate` never pays for the executor and `--help` for nothing.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { closest } from "@multiarch/spec/suggest";
import type { Io } from "./format.ts";

export const EXIT = { ok: 0, usage: 1, failed: 2, verify: 3, environment: 4, locked: 5, internal: 70, interrupted: 130 } as const;

type Options = NonNullable<ParseArgsConfig["options"]>;
const common: Options = {
  file: { type: "string", short: "f" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};
const selection: Options = {
  out: { type: "string", short: "o" },
  strategy: { type: "string" },
  image: { type: "string", multiple: true },
  platform: { type: "string", multiple: true },
  load: { type: "boolean" },
};

interface CommandDef {
  summary: string;
  usage: string;
  options: Options;
  help: string;
  load: () => Promise<{ default: (values: Values, io: Io, signal: AbortSignal) => Promise<number> }>;
}
export type Values = Record<string, string | boolean | string[] | undefined>;

const COMMANDS: Record<string, CommandDef> = {
  validate: {
    summary: "check multiarch.yaml and report every problem with its line",
    usage: "multiarch validate [-f FILE] [--json]",
    options: common,
    help: `Checks the spec: YAML, schema, platforms, references, templates, paths, dependencies.
Prints FILE:LINE:COL: message with a hint and the lines around it. Runs no docker command.

  -f, --file FILE   spec file (default: multiarch.yaml here or in a folder above)
      --json        print {"ok", "errors", "warnings"} as JSON on stdout
  -h, --help        this help

Exit codes: 0 valid (warnings may be printed), 1 invalid.`,
    load: () => import("./commands/validate.ts"),
  },
  plan: {
    summary: "write the bake file, plan.json and per-arch plans; print a summary",
    usage: "multiarch plan [-f FILE] [-o DIR] [--strategy auto|bake|manifest] [--image NAME]... [--platform P]... [--json]",
    options: { ...common, ...selection },
    help: `Compiles the spec into exactly what apply will run, and writes into DIR:
  docker-bake.json          buildx bake file: one target per image, group "default"
  docker-bake.publish.json  override that points pushes at staging tags (registry images)
  plan.json                 stages of steps, each a program and an argument array
  plans/<os>-<arch>.json    each platform's share, for a native machine of that arch

  -f, --file FILE        spec file (default: multiarch.yaml here or above)
  -o, --out DIR          output folder (default: .multiarch next to the spec)
      --strategy S       auto (default: from the spec, else by what the engine can do), bake, manifest
      --image NAME       only this image (repeatable)
      --platform P       only this platform (repeatable), e.g. linux/arm64
      --load             load registry-less images' OCI archives into the engine afterwards
      --json             print plan.json on stdout instead of the summary
  -h, --help             this help

Exit codes: 0 written, 1 spec or usage error (nothing written).`,
    load: () => import("./commands/plan.ts"),
  },
  apply: {
    summary: "plan, then build, push, verify, test and publish",
    usage: "multiarch apply [-f FILE | --plan DIR/plan.json] [--strategy ...] [--image ...] [--platform ...] [--dry-run] [--verbose] [--json]",
    options: {
      ...common,
      ...selection,
      plan: { type: "string" },
      "dry-run": { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
      concurrency: { type: "string" },
    },
    help: `Compiles the spec (or reads a saved plan) and runs it:
  login    docker login for registries with credentials (password through stdin)
  build    docker buildx bake (or per-arch docker build) pushing staging tags only
  verify   each pushed index must hold exactly the requested platforms
  test     the image's test.run on every platform
  publish  user tags point at the verified index (latest last)
A failure stops the run before publish: published tags stay where they were.

  -f, --file FILE        spec file (default: multiarch.yaml here or above)
      --plan FILE        run a plan.json written by multiarch plan
  -o, --out DIR          output folder (default: .multiarch next to the spec)
      --strategy S       auto, bake or manifest
      --image NAME       only this image (repeatable)
      --platform P       only this platform (repeatable)
      --load             load registry-less images' OCI archives into the engine afterwards
      --concurrency N    steps run at once within a stage (default: number of cores)
      --dry-run          print the commands, run nothing
  -v, --verbose          stream the engine's output
      --json             print the report as JSON on stdout
  -h, --help             this help

A re-run whose images are already published says "unchanged" and moves nothing.

Exit codes: 0 success, 1 spec or usage error (nothing run), 2 a build, push, login or test failed,
3 verification failed, 4 the engine is not usable, 5 another apply of this spec is running,
130 interrupted (Ctrl-C / SIGTERM: children stopped, nothing published half-way).`,
    load: () => import("./commands/apply.ts"),
  },
};

const HELP = `multiarch: one multiarch.yaml in, multi-arch images out.

Usage: multiarch <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(10)}${c.summary}`)
  .join("\n")}

Run multiarch <command> --help for its options.
Exit codes: 0 ok, 1 spec or usage error, 2 a step failed, 3 verification failed, 4 engine not usable,
5 another apply holds the lock, 70 internal error, 130 interrupted.`;

export async function run(argv: readonly string[], io: Io, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    io.stdout.write(`${HELP}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-V") {
    io.stdout.write("0.1.0\n");
    return EXIT.ok;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    const guess = closest(name, Object.keys(COMMANDS));
    io.stderr.write(`multiarch: unknown command "${name}"${guess ? `; did you mean ${guess}?` : ""}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  let values: Values;
  try {
    values = parseArgs({ args: [...rest], options: cmd.options, strict: true, allowPositionals: false }).values as Values;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    const flag = /'(-{1,2}[^']+)'/.exec(msg)?.[1];
    const guess = flag ? closest(flag.replace(/^-+/, ""), Object.keys(cmd.options)) : undefined;
    io.stderr.write(`multiarch ${name}: ${msg}${guess ? `; did you mean --${guess}?` : ""}\nusage: ${cmd.usage}\n`);
    return EXIT.usage;
  }
  if (values.help) {
    io.stdout.write(`usage: ${cmd.usage}\n\n${cmd.help}\n`);
    return EXIT.ok;
  }
  try {
    const mod = await cmd.load();
    return await mod.default(values, io, signal);
  } catch (e) {
    io.stderr.write(`multiarch: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\nThis is a bug in multiarch; please report it with the command you ran.\n`);
    return EXIT.internal;
  }
}

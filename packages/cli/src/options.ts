// Every command's options, one `as const` table each: the parser, --help and the TypeScript type of a
// command's values (ValuesOf) all come from here, so they cannot drift. A separate module from the
// commands: the parser and --help read it without loading any command (start-up).

/** One option: how it is parsed, how --help shows it, and whether it shapes the plan. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's name in help, e.g. FILE. */
  readonly value?: string;
  /** Each value may be a comma list (P,Q), as docker's own flag takes it. */
  readonly commaList?: boolean;
  readonly description: string;
  /**
   * Read when the spec is compiled into a plan (run/): a saved plan already holds its effect, so
   * apply --plan refuses it. run/plan-shape.test.ts checks every option the compile path reads has it.
   */
  readonly shapesPlan?: boolean;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** A string option's value is a string; repeated (multiple), a list; a boolean option's, a boolean. */
type ValueOf<O extends OptionSpec> = O["type"] extends "boolean" ? boolean : O["multiple"] extends true ? string[] : string;

/** The parsed values of a table's options: each one absent, or of its option's type. */
export type ValuesOf<T extends OptionTable> = { -readonly [K in keyof T]?: ValueOf<T[K]> };

/** The names of a table's options that shape the plan. */
export type PlanShapingKeys<T extends OptionTable> = { [K in keyof T]: T[K] extends { shapesPlan: true } ? K : never }[keyof T] & string;

export const planShaping = <T extends OptionTable>(table: T): PlanShapingKeys<T>[] =>
  Object.keys(table).filter((k) => table[k]!.shapesPlan === true) as PlanShapingKeys<T>[];

const common = {
  file: {
    type: "string",
    short: "f",
    value: "FILE",
    description: "spec file (default: multiarch.yaml here or in a folder above)",
    shapesPlan: true,
  },
  json: { type: "boolean", description: "print one JSON document on stdout (schemas/report.schema.json); text goes to stderr" },
  help: { type: "boolean", short: "h", description: "this help" },
} as const satisfies OptionTable;

const set = {
  type: "string",
  multiple: true,
  value: "IMAGE.KEY=VALUE",
  description:
    "override the spec for one image, or * for all (repeatable; as bake's --set): args.NAME, labels.NAME, annotations.NAME, tags, platforms, cache.type|mode|registry|dir|shared|ignoreError, attest.provenance|sbom; recorded in the plan",
  shapesPlan: true,
} as const satisfies OptionSpec;

const selection = {
  out: { type: "string", short: "o", value: "DIR", description: "output folder (default: .multiarch next to the spec)", shapesPlan: true },
  strategy: {
    type: "string",
    value: "S",
    description: "auto (default: from the spec, else by what the engine can do), bake, manifest",
    shapesPlan: true,
  },
  image: {
    type: "string",
    multiple: true,
    value: "NAME",
    description: "only this image and what it builds FROM (repeatable); dependencies are not published",
    shapesPlan: true,
  },
  group: {
    type: "string",
    multiple: true,
    value: "NAME",
    description: "only the images of this group (repeatable; with --image: both)",
    shapesPlan: true,
  },
  platform: {
    type: "string",
    multiple: true,
    commaList: true,
    value: "P",
    description: "only this platform (repeatable, or P,Q as docker's --platform), e.g. linux/arm64; a subset is never published",
    shapesPlan: true,
  },
  load: {
    type: "boolean",
    description: "build, verify and test, then load the images for this machine's platform into the engine; publish nothing",
    shapesPlan: true,
  },
  "no-publish": { type: "boolean", description: "everything up to publish (build, push by digest, verify, test); no user tag moves", shapesPlan: true },
  "no-push": {
    type: "boolean",
    description: "build each image as an OCI archive (DIR/oci), verify and test it here; no registry, no credentials (pull requests)",
    shapesPlan: true,
  },
  since: {
    type: "string",
    value: "REF",
    description: "only images whose inputs differ from what commit REF would build, and their dependents",
    shapesPlan: true,
  },
} as const satisfies OptionTable;

const metadataFile = {
  type: "string",
  value: "FILE",
  description: "write per image the index digest, each platform's digest and the tags holding it (bake's metadata keys); also GITHUB_OUTPUT under Actions",
} as const satisfies OptionSpec;

const reportFile = {
  type: "string",
  value: "FILE",
  description: "write a self-contained HTML report (per image and platform, a timeline, tags), on failure too",
} as const satisfies OptionSpec;

const dryRun = { type: "boolean", description: "print the commands, run nothing" } as const satisfies OptionSpec;
const verbose = { type: "boolean", short: "v", description: "stream the engine's output (secrets redacted)" } as const satisfies OptionSpec;
const force = { type: "boolean", description: "replace an existing file" } as const satisfies OptionSpec;
const lightConcurrency = { type: "string", value: "N", description: "steps at once (default: cores; light steps at least 8)" } as const satisfies OptionSpec;

export const OPTIONS = {
  validate: {
    ...common,
    set,
    static: { type: "boolean", description: "only what the file itself says: no environment, no git (for editors)" },
  },
  plan: { ...common, ...selection, set },
  apply: {
    ...common,
    ...selection,
    set,
    plan: { type: "string", value: "FILE", description: "run a plan.json or plans/<platform>.json written by multiarch plan" },
    concurrency: { type: "string", value: "N", description: "builds and pushes at once (default: cores); reads, tests and tags run at least 8 wide" },
    rebuild: { type: "boolean", description: "build every image, even those whose tags already hold the result of their inputs", shapesPlan: true },
    continue: {
      type: "boolean",
      description: "publish every image whose build, checks and tests passed, and whose image: dependencies did, when others fail (default: all or nothing)",
    },
    shard: {
      type: "string",
      multiple: true,
      commaList: true,
      value: "P",
      description: "build, push and check only platform P's share (repeatable, or P,Q) and write DIR/shards/<P>.json for multiarch merge; no tag moves",
      shapesPlan: true,
    },
    "metadata-file": metadataFile,
    report: reportFile,
    explain: { type: "boolean", description: "say per image why it is up to date, reused or built (which inputs changed)" },
    timings: {
      type: "boolean",
      description: "print where the time went: reading the spec, the engine, hashing inputs, registry reads, then build, push, verify, test, publish",
    },
    "dry-run": dryRun,
    verbose,
  },
  merge: {
    ...common,
    out: selection.out,
    from: { type: "string", multiple: true, value: "PATH", description: "shard files or folders holding them (repeatable; default: DIR/shards)" },
    set: { ...set, description: "the --set overrides the shards were built with (their plan must be the same)" },
    concurrency: lightConcurrency,
    "metadata-file": metadataFile,
    report: reportFile,
    "dry-run": dryRun,
    verbose,
  },
  promote: {
    ...common,
    from: { type: "string", value: "REGISTRY", description: "copy from this registry of the spec (with --to), e.g. staging" },
    to: { type: "string", value: "REGISTRY", description: "into this registry of the spec, and move its tags there (with --from)" },
    variable: { type: "string", value: "NAME", description: "the variable VERSION is given to (default: version)" },
    image: { type: "string", multiple: true, value: "NAME", description: "only this image (repeatable; default: every published image)" },
    concurrency: lightConcurrency,
    "dry-run": dryRun,
    verbose: { ...verbose, description: "stream the tools' output (secrets redacted)" },
  },
  graph: {
    file: common.file,
    format: { type: "string", value: "F", description: "mermaid (default), dot, or json" },
    image: selection.image,
    group: selection.group,
    json: common.json,
    help: common.help,
  },
  doctor: { ...common, fix: { type: "boolean", description: "make the safe, local repairs (each said before it runs), then check again" } },
  inspect: {
    expect: { type: "string", value: "P,Q", description: "the platforms the image must hold, exactly (exit 3 otherwise)" },
    key: {
      type: "string",
      value: "KEY",
      description: "also check REF carries a cosign signature this public key verifies (a path, or env://NAME); exit 3 otherwise",
    },
    insecure: { type: "boolean", description: "plain HTTP to this registry (loopback registries always are)" },
    json: common.json,
    help: common.help,
  },
  import: {
    file: { type: "string", short: "f", multiple: true, value: "FILE", description: "bake file (repeatable; default: bake's own lookup)" },
    set: { type: "string", multiple: true, value: "K=V", description: "override a target value, as bake --set (repeatable)" },
    out: { type: "string", short: "o", value: "PATH", description: "where to write the spec (default: multiarch.yaml here)" },
    force,
    json: common.json,
    help: common.help,
  },
  ci: {
    file: common.file,
    out: { type: "string", short: "o", value: "PATH", description: "where to write it (default: the provider's usual path in the repository)" },
    install: {
      type: "string",
      value: "HOW",
      description:
        "how jobs get multiarch: workspace (the repository's devDependency), npx (the npm package), action (GitHub: this repository's action); default: workspace when package.json lists @multiarch/cli, else action on GitHub, npx on GitLab",
    },
    branch: { type: "string", value: "NAME", description: "GitHub: the default branch, which publishes (default: main)" },
    pin: { type: "string", multiple: true, value: "ACTION@SHA", description: "GitHub: use this commit of an action instead of its major version (repeatable)" },
    force,
    json: common.json,
    help: common.help,
  },
} as const satisfies Record<string, OptionTable>;

export type CommandName = keyof typeof OPTIONS;

/** The parsed option values of one command. */
export type Values<C extends CommandName> = ValuesOf<(typeof OPTIONS)[C]>;

/**
 * What the compile path (run/) reads: the plan-shaping options of apply, the command that has them all.
 * Typed this narrowly, run/ cannot read an option that is not marked shapesPlan.
 */
export type PlanShape = Pick<Values<"apply">, PlanShapingKeys<(typeof OPTIONS)["apply"]>>;

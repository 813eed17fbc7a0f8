// multiarch inspect REF: the platforms, digests and sizes a pushed image holds (attestations apart), as a
// table or --json; --expect P,Q makes it a CI check (exit 3 unless the platforms are exactly those).
import { accessSync, constants, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseImageRef, parsePlatform } from "@multiarch/plan";
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { type Io, style, table } from "../format.ts";

const size = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export default async function inspect({ values, io, json, positionals, signal }: CommandContext<"inspect">): Promise<Outcome> {
  if (positionals.length !== 1) return { exit: EXIT.usage, message: "name one image: multiarch inspect REF, e.g. ghcr.io/acme/app:1.2.0" };
  const ref = positionals[0]!;
  // a name that is no image reference is the user's to fix (exit 1), not a registry's failure
  const name = parseImageRef(ref);
  if (!name.ok) return { exit: EXIT.usage, message: `${ref}: ${name.message}` };
  const expected: string[] = [];
  for (const p of values.expect?.split(",").filter(Boolean) ?? []) {
    const parsed = parsePlatform(p.trim());
    if (!parsed.ok) return { exit: EXIT.usage, message: `--expect ${parsed.message}${parsed.hint ? `; ${parsed.hint}` : ""}` };
    expected.push(parsed.platform);
  }
  // a key that cannot be read is the user's to fix, before cosign calls the image unsigned (exit 3)
  const keyProblem = values.key === undefined ? undefined : unreadableKey(values.key, io);
  if (keyProblem) return { exit: EXIT.usage, message: `--key ${values.key}: ${keyProblem}` };
  const { inspectRef } = await import("@multiarch/executor");
  const insecure = values.insecure ? [ref.split("/")[0]!] : [];
  const r = await inspectRef(ref, io.env, insecure, signal);
  if (signal.aborted) return { exit: EXIT.interrupted, message: `interrupted while reading ${ref}` };
  if (!r.ok) return { exit: EXIT.failed, message: `cannot read ${ref}: ${r.message}` };
  const v = r.value;
  const found = v.images.map((i) => i.platform);
  const missing = expected.filter((p) => !found.includes(p));
  const extra = expected.length ? found.filter((p) => !expected.includes(p)) : [];
  if (!json) {
    const s = style(io, "stdout");
    const rows = v.images.map((i) => [
      i.platform,
      i.digest,
      size(i.size),
      expected.length ? (expected.includes(i.platform) ? s.green("expected") : s.red("extra")) : "",
    ]);
    for (const m of missing) rows.push([m, "-", "-", s.red("missing")]);
    const out = [`${ref}  ${v.digest}  (${v.mediaType.split(".").slice(-2).join(".")})`, "", table(rows, ["platform", "digest", "size", ""])];
    if (v.attestations.length)
      out.push(
        "",
        `${v.attestations.length} attestation manifest${v.attestations.length === 1 ? "" : "s"}: ${v.attestations.map((a) => `${a.digest.slice(0, 19)} for ${a.for.slice(0, 19)}`).join(", ")}`,
      );
    io.stdout.write(`${out.join("\n")}\n`);
  }
  const signature =
    values.key !== undefined ? await signatureOf(`${ref.replace(/[:@][^/]*$/, "")}@${v.digest}`, values.key, insecure.length > 0, io) : undefined;
  if (signature && !json)
    io.stdout.write(
      `${signature.verified ? "signed: cosign verified the index's signature" : `not signed by this key: ${signature.message ?? ""}`} (${signature.key})\n`,
    );
  const bad = missing.length > 0 || extra.length > 0;
  const problems = [
    missing.length ? `missing ${missing.join(", ")}` : "",
    extra.length ? `unexpected ${extra.join(", ")}` : "",
    signature && !signature.verified ? `no signature ${signature.key} verifies` : "",
  ].filter(Boolean);
  return {
    exit: bad || (signature && !signature.verified) ? EXIT.verify : EXIT.ok,
    ...(problems.length ? { message: `${ref}: ${problems.join("; ")}` } : {}),
    data: { inspected: v, ...(signature ? { signature } : {}) },
  };
}

/** Why a public key (a path, or env://NAME) cannot be read here; undefined when it can. */
function unreadableKey(key: string, io: Io): string | undefined {
  if (key.startsWith("env://")) return io.env[key.slice("env://".length)] ? undefined : `environment variable ${key.slice("env://".length)} is not set`;
  // a KMS or other URI (awskms://, gcpkms://, hashivault://, k8s://, pkcs11:) is cosign's to read
  if (/^[a-z][a-z0-9+.-]*:/i.test(key) && !/^[a-z]:[\\/]/i.test(key)) return undefined;
  try {
    const file = resolve(io.cwd, key);
    if (statSync(file).isDirectory()) return "is a folder, not a public key file";
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

/** cosign verify of the inspected index, by digest, with a public key (a path, or env://NAME). */
async function signatureOf(byDigest: string, key: string, insecure: boolean, io: Io) {
  const [{ signatureCheck }, { runCommand }] = await Promise.all([import("@multiarch/compiler"), import("@multiarch/executor")]);
  const publicKey = key.startsWith("env://") ? { env: key.slice("env://".length) } : { file: key };
  const at = { file: "", line: 0, col: 0 };
  const r = await runCommand(signatureCheck({ mode: "key", key: publicKey, publicKey, tlog: false, at }, byDigest, insecure), { cwd: io.cwd, env: io.env });
  const last = (r.stderr.trim().split("\n").at(-1) ?? "").replace(/^Error: /, "");
  return { verified: r.ok, key, ...(r.ok ? {} : { message: last || r.message }) };
}

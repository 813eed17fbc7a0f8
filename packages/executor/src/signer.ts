// The signer, before a run and after a failed signing. Before: cosign runs here and, with a key, the key
// opens with its password and is the pair of the public key signatures are checked with; otherwise the
// whole build would run only for the check of the first signature to fail. After: a signature tag
// (REPO:sha256-<digest>.sig) that a failed sign step pushed is deleted, so a failed run leaves no tag.
import { createPublicKey } from "node:crypto";
import { type Plan, parseImageRef, type ValueRef } from "@multiarch/plan";
import { repositoryOf } from "./digest-push.ts";
import { RegistryError, type RegistryClient } from "./registry.ts";
import { planRedactor, type RunOptions, resolveRef, runCommand } from "./runner.ts";

/** Why this plan cannot sign here, in one sentence, and what to do. */
export interface SignerProblem {
  message: string;
  hint: string;
}

/**
 * A plan that runs cosign needs it here; one that signs with a key needs a key that opens with its
 * password (cosign public-key) and whose public half is the configured public key (compared as key
 * material, not as PEM text). Keyless signing can only be tried when it signs.
 */
export async function signerProblem(
  plan: Pick<Plan, "stages" | "signing" | "secrets">,
  opts: Pick<RunOptions, "cwd" | "env">,
): Promise<SignerProblem | undefined> {
  const steps = plan.stages.flatMap((s) => s.steps);
  if (!steps.some((st) => st.kind === "sign" || st.commands.some((c) => c.program === "cosign"))) return undefined;
  const pair = steps.some((st) => st.kind === "sign") ? plan.signing?.keyPair : undefined;
  const r = await runCommand(pair?.publicKeyOf ?? { program: "cosign", args: ["version"] }, { ...opts, redact: planRedactor(plan, opts.cwd, opts.env) });
  if (!r.ok && (r.reason === "spawn" || !pair))
    return {
      message: `this plan signs with cosign (sign: in the spec), which cannot be run here (${r.message})`,
      hint: "install it (Debian: apt-get install cosign) or put it on PATH",
    };
  if (!pair) return undefined;
  const args = pair.publicKeyOf.args;
  const keyArg = String(args[args.indexOf("--key") + 1]);
  const key = keyArg.startsWith("env://") ? `$${keyArg.slice("env://".length)}` : keyArg;
  const password = pair.publicKeyOf.setEnv?.COSIGN_PASSWORD;
  if (!r.ok && r.reason === "unresolved")
    return { message: `the signing key ${key} cannot be opened: its password: ${r.message}`, hint: "give it to this run's environment (in CI, as a secret)" };
  if (!r.ok) {
    const said = /^Error: (.*)$/m.exec(r.stderr)?.[1] ?? r.message;
    const why = /decrypt/.test(said) ? " (a wrong password, or a damaged key)" : "";
    return {
      message:
        typeof password === "object"
          ? `cosign cannot open the signing key ${key} with the password from ${shown(password)}${why}: ${said}`
          : `cosign cannot open the signing key ${key} without a password (sign: gives none)${why}: ${said}`,
      hint: "give sign.password the password the key was made with (cosign generate-key-pair asked for it), or an undamaged key",
    };
  }
  const pub = shown(pair.publicKey);
  let configured: string;
  try {
    configured = resolveRef(pair.publicKey, opts);
  } catch (e) {
    return {
      message: `the public key ${pub} cannot be read: ${(e as Error).message}`,
      hint: "sign.publicKey: the .pub file cosign generate-key-pair wrote, or a variable holding it",
    };
  }
  const want = keyMaterial(configured);
  if (!want)
    return {
      message: `the public key ${pub} is not a PEM public key`,
      hint: "sign.publicKey: the .pub file cosign generate-key-pair wrote, or a variable holding it",
    };
  const derived = keyMaterial(r.stdout);
  if (!derived)
    return { message: `cosign public-key printed no public key for the signing key ${key}`, hint: `run cosign public-key --key ${keyArg} to see why` };
  if (!derived.equals(want))
    return {
      message: `the signing key ${key} and the public key ${pub} are not one pair: every signature would fail its check, after the whole build`,
      hint: `point sign.publicKey at this key's public half (cosign public-key --key ${keyArg} prints it), or sign with the key ${pub} belongs to`,
    };
  return undefined;
}

const shown = (ref: ValueRef): string => ("env" in ref ? `$${ref.env}` : ref.file);

/** A PEM public key as its DER bytes (SubjectPublicKeyInfo): line breaks, CRLF and spacing do not count. */
export function keyMaterial(pem: string): Buffer | undefined {
  try {
    return createPublicKey(pem).export({ type: "spki", format: "der" });
  } catch {
    return undefined;
  }
}

/** Where cosign stores the signatures of an index (name@sha256:HEX): the tag name:sha256-HEX.sig. */
export function signatureTag(index: string): string {
  const at = index.lastIndexOf("@");
  return `${index.slice(0, at)}:${index.slice(at + 1).replace(":", "-")}.sig`;
}

/** The digest a signature tag holds (null: no such tag), or why it could not be read. */
export type TagState = { digest: string | null } | { error: string };

export async function tagState(client: RegistryClient, tag: string): Promise<TagState> {
  const ref = parseImageRef(tag);
  if (!ref.ok) return { error: ref.message };
  try {
    return { digest: (await client.manifest(ref.value)).digest };
  } catch (e) {
    return e instanceof RegistryError && e.status === 404 ? { digest: null } : { error: (e as Error).message };
  }
}

/**
 * After a sign step failed: the signature tag it pushed (none before, one now) is deleted by digest, with
 * the signature in it; a tag that held signatures before the step keeps them (they are not this run's to
 * remove). Returns what was done or left, in one sentence; undefined when the step left no tag.
 */
export async function removeStraySignature(client: RegistryClient, tag: string, before: TagState): Promise<string | undefined> {
  const now = await tagState(client, tag);
  if ("error" in now) return `whether it left the signature tag ${tag} could not be read (${now.error})`;
  if (now.digest === null || ("digest" in before && before.digest === now.digest)) return undefined;
  if ("error" in before) return `the signature tag ${tag} is left: it could not be read before signing (${before.error}), so it may hold earlier signatures`;
  if (before.digest !== null) return `the signature tag ${tag} held signatures before this step: it keeps them, and the one this step added`;
  try {
    await client.deleteManifest(repositoryOf(tag), now.digest);
    return `deleted the signature tag ${tag} this step pushed`;
  } catch (e) {
    return `the signature tag ${tag} this step pushed is left in the registry, which refused to delete it (${(e as Error).message}); it names an index no other tag holds: delete it where the registry allows`;
  }
}

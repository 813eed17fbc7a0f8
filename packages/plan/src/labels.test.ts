import { describe, expect, test } from "vitest";
import { attestedDigest, isAttestation, parsePartsText, partsText } from "./labels.ts";

describe("labels", () => {
  test("the parts label reads back as written (short hashes)", () => {
    const text = partsText({ dockerfile: "a".repeat(64), context: "b".repeat(64) });
    expect(text).toBe(`dockerfile:${"a".repeat(12)} context:${"b".repeat(12)}`);
    expect(parsePartsText(text)).toEqual({ dockerfile: "a".repeat(12), context: "b".repeat(12) });
    expect(parsePartsText(undefined)).toBeUndefined();
  });

  test("attestation manifests are told apart by buildx's annotation", () => {
    const att = { annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": "sha256:x" } };
    expect([isAttestation(att), attestedDigest(att), isAttestation({})]).toEqual([true, "sha256:x", false]);
  });
});

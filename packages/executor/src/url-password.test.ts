import { describe, expect, test } from "vitest";
import { maskUrlPassword } from "./url-password.ts";

describe("maskUrlPassword", () => {
  test("user:password@ is masked as the regex it replaces masks it, in one pass", () => {
    const regex = (text: string) => text.replace(/([\w.%~-]+:)[^\s@/'"]+@(?![a-z0-9]+:[a-f0-9]{32})/g, "$1***@");
    const alphabet = ["a", "b", "1", "_", ".", "%", "~", "-", ":", "@", "/", " ", "'", '"', "é", "\t", "#"];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let n = 0; n < 3000; n++) {
      const text = Array.from({ length: next() % 24 }, () => alphabet[next() % alphabet.length]).join("");
      expect(maskUrlPassword(text), JSON.stringify(text)).toBe(regex(text));
    }
    expect(maskUrlPassword("url: https://ci:s3cr:et@registry.example.com/x")).toBe("url: https://ci:***@registry.example.com/x");
    // found by a review: a base pinned by tag and digest (rust:1.91.0-trixie@sha256:…) was shown, and imported, as rust:***@sha256:…
    const pinned = `docker-image://rust:1.91.0-trixie@sha256:${"a0".repeat(32)}`;
    expect(maskUrlPassword(`rust: ${pinned}`)).toBe(`rust: ${pinned}`);
    expect(maskUrlPassword("https://bob:hunter22@sha256.example.com/x")).toBe("https://bob:***@sha256.example.com/x");
  });
});

import { describe, expect, test } from "vitest";
import { maskUrlPassword } from "./url-password.ts";

describe("maskUrlPassword", () => {
  test("user:password@ is masked as the regex it replaces masks it, in one pass", () => {
    const regex = (text: string) => text.replace(/([\w.%~-]+:)[^\s@/]+@/g, "$1***@");
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
    // a digest cut short is no digest
    expect(maskUrlPassword("alpine:3.19@sha256:c5b1261d")).toBe("alpine:***@sha256:c5b1261d");
  });

  // found by a review: quotes ended the password, so part of it showed (the runner's pattern ran to the @)
  test("a password with quotes in it, as a shell or JSON writes it, is hidden whole", () => {
    expect(maskUrlPassword("https://bob:it's-secret@host/x")).toBe("https://bob:***@host/x");
    expect(maskUrlPassword('{"url":"https://bob:p\\"w@host"}')).toBe('{"url":"https://bob:***@host"}');
  });

  // found by a review: a token written as the URL's user (https://${TOKEN}@github.com) reached import's spec
  test("an http(s) URL's user alone is a token: hidden whole; other schemes keep their user", () => {
    expect(maskUrlPassword("git clone https://ghp_abc123@github.com/org/x.git")).toBe("git clone https://***@github.com/org/x.git");
    expect(maskUrlPassword("ssh://git@github.com/org/x.git")).toBe("ssh://git@github.com/org/x.git");
    expect(maskUrlPassword("mail dev@example.com")).toBe("mail dev@example.com");
  });
});

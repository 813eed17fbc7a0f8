// A token service as public registries have one (Docker Hub, GHCR, Harbor), for the token-auth test
// registry: it issues JWTs for the scopes asked, signed ES256 by a key whose certificate is the
// registry's `rootcertbundle`. Anonymous clients may pull repositories under public/; the e2e user may
// pull and push everything. Answers docker's two forms: GET with Basic auth, and the OAuth2 POST form
// (grant_type=password) a logged-in containerd sends. Each request is appended to a log (one JSON line:
// user, scopes asked, access granted) so tests can see which scopes a client asked for. Loopback only.
//   node token-server.mjs ADDR:PORT KEY.pem CERT.pem PASSWORD-FILE LOG ISSUER
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";

const [addr, keyFile, certFile, passwordFile, logFile, issuer] = process.argv.slice(2);
const [host, port] = addr.split(":");
const key = createPrivateKey(readFileSync(keyFile));
const certDer = new X509Certificate(readFileSync(certFile)).raw.toString("base64");
const USER = "e2e";

const b64url = (data) => Buffer.from(data).toString("base64url");

/** The user whose password is right; undefined for anonymous; null for a wrong one. */
function userOf(username, password) {
  if (username === undefined) return undefined;
  return username === USER && password === readFileSync(passwordFile, "utf8").trim() ? USER : null;
}

/** repository:NAME:pull,push -> what this user may have of it. */
function grant(scope, user) {
  const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(scope);
  if (!m || m[1] !== "repository") return undefined;
  const asked = m[3].split(",");
  const actions = user ? asked.filter((a) => ["pull", "push", "*"].includes(a)) : m[2].startsWith("public/") ? asked.filter((a) => a === "pull") : [];
  return { type: m[1], name: m[2], actions };
}

function token(user, service, scopes) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "ES256", typ: "JWT", x5c: [certDer] };
  const claims = {
    iss: issuer,
    sub: user ?? "",
    aud: service,
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access: scopes.map((s) => grant(s, user)).filter((a) => a && a.actions.length > 0),
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return { jwt: `${input}.${b64url(signature)}`, access: claims.access };
}

async function params(req) {
  const url = new URL(req.url, `http://${addr}`);
  if (req.method !== "POST") {
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
    const [username, ...rest] = basic ? Buffer.from(basic[1], "base64").toString("utf8").split(":") : [];
    return { service: url.searchParams.get("service") ?? "", scopes: url.searchParams.getAll("scope"), username, password: rest.join(":") };
  }
  let body = "";
  for await (const chunk of req) body += chunk;
  const form = new URLSearchParams(body);
  const password = form.get("grant_type") === "password" ? (form.get("password") ?? "") : undefined;
  return {
    service: form.get("service") ?? "",
    scopes: form.getAll("scope").flatMap((s) => s.split(" ")),
    username: password === undefined ? undefined : (form.get("username") ?? ""),
    password,
  };
}

createServer(async (req, res) => {
  if (!req.url?.startsWith("/token")) {
    res.writeHead(req.url === "/healthz" ? 200 : 404).end();
    return;
  }
  const p = await params(req);
  const user = userOf(p.username, p.password);
  if (user === null) {
    appendFileSync(logFile, `${JSON.stringify({ method: req.method, user: p.username, scopes: p.scopes, refused: true })}\n`);
    res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "incorrect username or password" }));
    return;
  }
  const t = token(user, p.service, p.scopes);
  appendFileSync(logFile, `${JSON.stringify({ method: req.method, user: user ?? null, scopes: p.scopes, access: t.access })}\n`);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ token: t.jwt, access_token: t.jwt, expires_in: 300, issued_at: new Date().toISOString() }));
}).listen(Number(port), host);

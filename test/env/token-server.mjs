// A token service as public registries have one (Docker Hub, GHCR, Harbor), for the token-auth test
// registry: it issues JWTs for the scopes asked, signed ES256 by a key whose certificate is the
// registry's `rootcertbundle`. Anonymous clients may pull repositories under public/; the e2e user may
// pull and push everything. Answers docker's forms: GET with Basic auth, and the OAuth2 POST form with
// grant_type=password (a logged-in containerd) or refresh_token. Asked for offline access (docker login
// is), it also issues a refresh token, which docker stores as the registry's `identitytoken`. Each request
// is appended to a log (one JSON line: grant, client id, user, scopes asked, access granted) so tests can see what a
// client asked for. Loopback only.
//   node token-server.mjs ADDR:PORT KEY.pem CERT.pem PASSWORD-FILE LOG ISSUER
import { createHmac, createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer } from "node:http";

const [addr, keyFile, certFile, passwordFile, logFile, issuer] = process.argv.slice(2);
const [host, port] = addr.split(":");
const key = createPrivateKey(readFileSync(keyFile));
const certDer = new X509Certificate(readFileSync(certFile)).raw.toString("base64");
const USER = "e2e";

const b64url = (data) => Buffer.from(data).toString("base64url");

const password = () => readFileSync(passwordFile, "utf8").trim();
/** A refresh token for the user: derived, so it outlives a restart of this server, and changes with the password. */
const refreshToken = (user) => `rt.${createHmac("sha256", password()).update(user).digest("base64url")}`;

/** The user whose password (or refresh token) is right; undefined for anonymous; null for a wrong one. */
function userOf(p) {
  if (p.refresh !== undefined) return p.refresh === refreshToken(USER) ? USER : null;
  if (p.username === undefined) return undefined;
  return p.username === USER && p.password === password() ? USER : null;
}

/** repository:NAME:pull,push -> what this user may have of it. */
function allowed(scope, user) {
  const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(scope);
  if (m?.[1] !== "repository") return undefined;
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
    access: scopes.map((s) => allowed(s, user)).filter((a) => a && a.actions.length > 0),
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
    return {
      grant: basic ? "basic" : "anonymous",
      service: url.searchParams.get("service") ?? "",
      scopes: url.searchParams.getAll("scope"),
      username,
      password: rest.join(":"),
      offline: url.searchParams.get("offline_token") === "true",
    };
  }
  let body = "";
  for await (const chunk of req) body += chunk;
  const form = new URLSearchParams(body);
  const grant = form.get("grant_type") ?? "";
  return {
    grant,
    service: form.get("service") ?? "",
    scopes: form.getAll("scope").flatMap((s) => s.split(" ")),
    ...(grant === "password" ? { username: form.get("username") ?? "", password: form.get("password") ?? "" } : {}),
    ...(grant === "refresh_token" ? { refresh: form.get("refresh_token") ?? "" } : {}),
    client: form.get("client_id") ?? undefined,
    offline: form.get("access_type") === "offline",
  };
}

createServer(async (req, res) => {
  if (!req.url?.startsWith("/token")) {
    res.writeHead(req.url === "/healthz" ? 200 : 404).end();
    return;
  }
  const p = await params(req);
  const user = userOf(p);
  if (user === null) {
    appendFileSync(logFile, `${JSON.stringify({ method: req.method, grant: p.grant, user: p.username, scopes: p.scopes, refused: true })}\n`);
    res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "incorrect username or password" }));
    return;
  }
  const t = token(user, p.service, p.scopes);
  appendFileSync(
    logFile,
    `${JSON.stringify({ method: req.method, grant: p.grant, client: p.client, user: user ?? null, scopes: p.scopes, access: t.access })}\n`,
  );
  res.writeHead(200, { "content-type": "application/json" });
  const refresh = user && p.offline ? { refresh_token: refreshToken(user) } : {};
  res.end(JSON.stringify({ token: t.jwt, access_token: t.jwt, expires_in: 300, issued_at: new Date().toISOString(), ...refresh }));
}).listen(Number(port), host);

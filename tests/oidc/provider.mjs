// A real OpenID Connect provider for ferry's sign-in tests: the certified
// `oidc-provider` package on 127.0.0.1, configured from a JSON file the
// test writes (port, clients, accounts), with a small login form of its own
// that checks each account's password.
//
//   node provider.mjs CONFIG.json
//
// Prints "provider listening on http://127.0.0.1:PORT" when it is up, and
// "authorization response: URL" for each code it sends back.
// An account may have `id_token_ttl` (seconds) and `token_delay_ms`: its ID
// tokens then expire that soon, and the token endpoint answers that much
// later, so an ID token is already expired when the client receives it.

import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = new Map(config.accounts.map((a) => [a.id, a]));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test' };

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true, methods: ['S256'] },
  scopes: ['openid', 'email', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
  // The claims the scopes ask for go into the ID token itself, as Google
  // and Microsoft Entra put email (and groups) there.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    IdToken: (ctx, token) => accounts.get(token.available?.sub)?.id_token_ttl ?? 3600,
  },
  async findAccount(ctx, id) {
    const a = accounts.get(id);
    if (!a) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, email: a.email, email_verified: true, groups: a.groups }),
    };
  },
  // Every client here is first-party: the consent step is granted at once.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email groups');
    await grant.save();
    return grant;
  },
});

const redirectUris = config.clients.flatMap((c) => c.redirect_uris);

// Prints each authorization response (the browser's way back to the client,
// code and state included), as someone reading a proxy's log would see it:
// the test replays one. And a slow token endpoint for accounts that ask for
// one: the ID token is made first, then held back.
provider.use(async (ctx, next) => {
  await next();
  const location = ctx.response.get('location');
  if (location && redirectUris.some((u) => location.startsWith(`${u}?`))) {
    console.log(`authorization response: ${location}`);
  }
  if (ctx.path === '/token' && ctx.status === 200) {
    const sub = ctx.oidc?.entities?.Account?.accountId;
    const delay = accounts.get(sub)?.token_delay_ms;
    if (delay) await new Promise((r) => setTimeout(r, delay));
  }
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html><html><head><title>Test provider sign-in</title></head><body>${body}</body></html>`);
}

function loginForm(res, uid, error) {
  page(res, error ? 401 : 200, `<h1>Test provider</h1>
${error ? `<p id="op-error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Email <input id="op-login" name="login" autocomplete="username"></label>
<label>Password <input id="op-password" name="password" type="password"></label>
<button id="op-submit" type="submit">Sign in</button>
</form>`);
}

async function readForm(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, '<p>wrong interaction</p>');
  if (details.prompt.name !== 'login') {
    return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
  }
  if (!action) return loginForm(res, uid);
  const form = await readForm(req);
  const account = [...accounts.values()].find((a) => a.email === form.get('login'));
  if (!account || account.password !== form.get('password')) {
    return loginForm(res, uid, 'wrong email or password');
  }
  return provider.interactionFinished(req, res, { login: { accountId: account.id } }, {
    mergeWithLastSubmission: false,
  });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const m = req.url.match(/^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/);
  if (m) {
    interaction(req, res, m[1], m[2]).catch((e) => page(res, 500, `<p>${escape(e.message)}</p>`));
    return;
  }
  callback(req, res);
});
server.listen(config.port, '127.0.0.1', () => {
  console.log(`provider listening on ${issuer}`);
});

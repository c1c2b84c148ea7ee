// A real OpenID Connect provider for the tests (issue 16): the certified `oidc-provider`
// package, on loopback, configured from files the test writes.
//
//   OIDC_PORT   the port to listen on (127.0.0.1 only)
//   OIDC_STATE  a JSON file re-read at every request: {clients, accounts, tamper}
//   OIDC_KEYS   a JSON file: {provider: private JWK signing ID tokens, foreign: another key}
//
// accounts: {"login": {password, sub, email, email_verified, name, groups}}: the test changes
// an account's groups or email between sign-ins by rewriting the file.
// tamper: null, or how the next token responses' ID token is spoiled, for what a correct
// provider never sends: "signature" (payload changed, signature kept), "foreign_key" (signed
// by another key with the provider's key id), "alg_none", or re-signed with the provider's own
// key and one claim changed: "aud", "aud_azp", "iss", "expired", "nonce".
import { readFileSync } from 'node:fs';
import { CompactSign, importJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const statePath = process.env.OIDC_STATE;
const keys = JSON.parse(readFileSync(process.env.OIDC_KEYS, 'utf8'));
const readState = () => JSON.parse(readFileSync(statePath, 'utf8'));
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const configuration = {
  clients: readState().clients,
  jwks: { keys: [keys.provider] },
  cookies: { keys: ['tests-only-cookie-key'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  // Like Entra ID, the ID token carries the profile, email and groups claims.
  conformIdTokenClaims: false,
  claims: {
    // "tid": the directory (tenant) the account is in, as Entra ID sends it.
    openid: ['sub', 'tid'],
    email: ['email', 'email_verified'],
    // _claim_names: Entra ID's "groups overage", sent instead of the groups.
    profile: ['name', 'groups', '_claim_names'],
  },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 600, Grant: 600 },
  // The subject is the account's "sub", not its login: a login (or an email) can change.
  async findAccount(ctx, sub) {
    const bySub = () => Object.values(readState().accounts).find((a) => a.sub === sub);
    const account = bySub();
    if (!account || account.disabled) return undefined;
    return {
      accountId: sub,
      async claims() {
        const current = bySub() || account;
        const claims = { sub: current.sub, email: current.email, name: current.name };
        if (current.email_verified !== undefined) claims.email_verified = current.email_verified;
        if (current.groups !== undefined) claims.groups = current.groups;
        if (current.tid !== undefined) claims.tid = current.tid;
        if (current._claim_names !== undefined) claims._claim_names = current._claim_names;
        return claims;
      },
    };
  },
};

const provider = new Provider(issuer, configuration);
const signingKey = await importJWK(keys.provider, 'RS256');
const foreignKey = await importJWK(keys.foreign, 'RS256');
const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const unb64 = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

async function sign(payload, key) {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'RS256', kid: keys.provider.kid, typ: 'JWT' })
    .sign(key);
}

async function tamper(idToken, how) {
  const [header, payload, signature] = idToken.split('.');
  const claims = unb64(payload);
  switch (how) {
    case 'signature':
      return `${header}.${b64({ ...claims, sub: 'someone-else' })}.${signature}`;
    case 'foreign_key':
      return sign(claims, foreignKey);
    case 'alg_none':
      return `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    case 'aud':
      return sign({ ...claims, aud: 'another-application' }, signingKey);
    case 'aud_azp':
      return sign({ ...claims, aud: 'another-application', azp: claims.aud }, signingKey);
    case 'iss':
      return sign({ ...claims, iss: 'https://impostor.example' }, signingKey);
    case 'expired':
      return sign({ ...claims, iat: claims.iat - 7200, exp: claims.iat - 3600 }, signingKey);
    case 'nonce':
      return sign({ ...claims, nonce: 'not-the-one-sent' }, signingKey);
    default:
      throw new Error(`unknown tamper ${how}`);
  }
}

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const page = (title, body) => `<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login|\/confirm)?$/);
  if (!match) {
    await next();
    const how = ctx.path === '/token' && ctx.body && ctx.body.id_token ? readState().tamper : null;
    if (how) ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token, how) };
    return;
  }
  const [, uid, action] = match;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  const { prompt, params, session } = details;
  if (ctx.method === 'GET' && !action) {
    ctx.type = 'html';
    if (prompt.name === 'login') {
      ctx.body = page('Sign in to the test provider', `<form method="post" action="/interaction/${uid}/login">
        <label>Login <input name="login"></label><label>Password <input name="password" type="password"></label>
        <button type="submit">Sign in</button></form>`);
    } else {
      ctx.body = page('Allow access', `<p>${escapeHtml(params.client_id)} asks for ${escapeHtml(params.scope)}</p>
        <form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>`);
    }
    return;
  }
  if (ctx.method !== 'POST') ctx.throw(405);
  const body = await formBody(ctx.req);
  if (action === '/login') {
    const account = readState().accounts[body.get('login')];
    if (!account || account.disabled || account.password !== body.get('password')) {
      ctx.type = 'html';
      ctx.status = 401;
      ctx.body = page('Wrong login or password', '');
      return;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

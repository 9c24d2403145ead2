// A real OpenID Connect provider (panva's certified oidc-provider) for
// Railyard's single sign-on tests, on loopback only.
//
//   node provider.mjs PORT REDIRECT_URI [ID_TOKEN_TTL_SECONDS]
//
// Prints one line, `ready <issuer>`, once it listens, then `jwks` each time
// its signing keys are fetched; stops on SIGTERM. The client is `railyard` /
// `railyard-test-secret` (PKCE required). Any login name signs in (the
// provider's development login form, password ignored); the people below
// have e-mail addresses and groups.
//
// Environment, for tests:
//   OIDC_GROUPS_FILE    a JSON file {"login": ["group", …]} read at every
//                       sign-in, overriding the groups below (group changes)
//   OIDC_FOREIGN_JWKS=1 publish a key it never signs with (a rotation the
//                       relying party cannot follow)
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, redirectUri, idTokenTtl = '3600'] = process.argv.slice(2);
if (!port || !redirectUri) {
  console.error('usage: node provider.mjs PORT REDIRECT_URI [ID_TOKEN_TTL_SECONDS]');
  process.exit(2);
}

/** Who exists at the provider, and the groups it asserts for them. */
const people = {
  vera: { name: 'Vera Viewer', groups: ['leadership'] },
  paula: { name: 'Paula Payments', groups: ['payments-release'] },
  aaron: { name: 'Aaron Approver', groups: ['payments-approvers'] },
  ada: { name: 'Ada Author', groups: ['payments-approvers', 'payments-dev'] },
};

/** The groups `id` holds now: from OIDC_GROUPS_FILE when it names them. */
function groupsOf(id) {
  const file = process.env.OIDC_GROUPS_FILE;
  if (file) {
    const groups = JSON.parse(readFileSync(file, 'utf8'));
    if (Array.isArray(groups[id])) return groups[id];
  }
  return people[id]?.groups ?? [];
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: `key-${Date.now()}` };
}

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'railyard',
      client_secret: 'railyard-test-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  conformIdTokenClaims: false,
  jwks: { keys: [signingKey()] },
  ttl: { IdToken: Number(idTokenTtl) },
  async findAccount(_ctx, id) {
    const person = people[id] ?? { name: id, groups: [] };
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: person.name, email: `${id}@example.com`, email_verified: true, groups: groupsOf(id) };
      },
    };
  },
});

const foreign = process.env.OIDC_FOREIGN_JWKS === '1' ? signingKey() : null;
provider.use(async (ctx, next) => {
  if (ctx.path === '/jwks') {
    console.log('jwks');
    if (foreign) {
      const { kty, n, e, use, alg, kid } = foreign;
      ctx.type = 'application/jwk-set+json';
      ctx.body = { keys: [{ kty, n, e, use, alg, kid }] };
      return;
    }
  }
  await next();
});

const server = provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

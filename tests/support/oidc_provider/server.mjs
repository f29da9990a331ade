// A real authorization server for capgate's tests: oidc-provider (OpenID Certified), on 127.0.0.1.
//
// Configured by the JSON in $AS_CONFIG: {jwks, clients, resources: [{pattern, scope, format, alg}], ttl}.
// A resource indicator (RFC 8707) matching a pattern gets access tokens with that audience, those scopes
// and that format (jwt or opaque); any other is refused (invalid_target). The login and consent pages are
// replaced by one automatic step: the interaction logs in the account named by the `x-test-user` header
// (default "alice") and grants every scope asked for, so a test can drive the authorization code flow
// with an HTTP client. Prints `authorization-server: ready on URL` once it listens.
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(process.env.AS_CONFIG);
const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

function resourceServer(indicator) {
  const match = config.resources.find((resource) => new RegExp(resource.pattern).test(indicator));
  if (!match) throw new errors.InvalidTarget();
  return {
    scope: match.scope,
    accessTokenFormat: match.format,
    accessTokenTTL: config.ttl,
    ...(match.format === 'jwt' ? { jwt: { sign: { alg: match.alg } } } : {}),
  };
}

const provider = new Provider(issuer, {
  jwks: config.jwks,
  clients: config.clients,
  cookies: { keys: ['capgate-test-cookie-key'] },
  // The resource servers' scopes too: dynamic registration checks a client's `scope` against this list.
  scopes: ['openid', 'offline_access', ...new Set(config.resources.flatMap((resource) => resource.scope.split(' ')))],
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  pkce: { required: () => true },
  ttl: { AccessToken: config.ttl, ClientCredentials: config.ttl },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    registration: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => resourceServer(indicator),
    },
  },
  interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
});

// The interaction, done at once: log in the test's user, then grant what the client asked for.
provider.use(async (ctx, next) => {
  if (!/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: ctx.get('x-test-user') || 'alice' } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
});

server.on('request', provider.callback());
process.stdout.write(`authorization-server: ready on ${issuer}\n`);
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // idle keep-alive connections would hold the close up
});

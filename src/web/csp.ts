/**
 * Which paths are dashboard pages, and their Content-Security-Policy. Pages
 * load only their own stylesheet and script ('self', no inline script), so an
 * injected tag cannot run. form-action is left unset on purpose: browsers
 * apply it to the redirect after a POST, and subscribing redirects to
 * Stripe's hosted checkout, opening webmail to the customer's own server.
 */
export const WEB_CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

const API_EXACT = new Set(['/v1', '/docs', '/openapi.json', '/healthz', '/readyz', '/metrics']);

export const isWebPath = (path: string): boolean => !(API_EXACT.has(path) || path.startsWith('/v1/') || path.startsWith('/docs/'));

/**
 * Sends a signed-in person who must have a second factor (staff; members of a
 * workspace that requires it) and has none to enrolment before any other page.
 * Runs after the sign-in gate; only people without a second factor pay its query.
 */
import type { MiddlewareHandler } from 'hono';
import { twoFactorRequirement } from '../accounts/two-factor/status.ts';
import type { WebDeps, WebEnv } from './web-env.ts';

export const ENROLMENT_PAGE = '/account/two-factor';

export function requireEnrolment(deps: WebDeps): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const user = c.get('user');
    if (!user.twoFactor && (await twoFactorRequirement(deps.api.db, user.id)).required) {
      return c.redirect(`${ENROLMENT_PAGE}?notice=two_factor_required`, 303);
    }
    await next();
  };
}

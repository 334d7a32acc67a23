/**
 * The tax side of a Checkout Session, checked as Stripe checks it:
 * `automatic_tax[enabled]` and `tax_id_collection[enabled]` are required
 * booleans once their object is sent, `billing_address_collection` is
 * `auto | required`, and `customer_update` is refused without an existing
 * `customer` (Checkout creates the customer itself from `customer_email`).
 * What the buyer then enters on the page (address, VAT ID) is checked here too.
 */
import type { CustomerDetails, StripeAddress, StripeCheckoutSession } from './objects.ts';
import { StripeApiError, optionalString, type FormObject, type FormValue } from './wire.ts';

export type SessionTax = Pick<StripeCheckoutSession, 'automatic_tax' | 'billing_address_collection' | 'tax_id_collection'>;

function booleanParam(value: FormValue | undefined, param: string): boolean {
  if (value === undefined) throw StripeApiError.missingParam(param);
  if (value === 'true' || value === 'false') return value === 'true';
  throw new StripeApiError(400, 'invalid_request_error', `Invalid boolean: ${typeof value === 'string' ? value : 'object'}`, {
    code: 'parameter_invalid_boolean',
    param,
  });
}

function objectParam(value: FormValue | undefined, param: string): FormObject | null {
  if (value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw StripeApiError.invalid('Invalid object', param);
  return value;
}

function enumParam<T extends string>(value: string | null, allowed: readonly T[], param: string): T | null {
  if (value === null) return null;
  if (!(allowed as readonly string[]).includes(value)) throw StripeApiError.invalid(`Invalid ${param}: must be one of ${allowed.join(' or ')}`, param);
  return value as T;
}

export function sessionTaxParams(form: FormObject): SessionTax {
  const update = objectParam(form['customer_update'], 'customer_update');
  if (update && form['customer'] === undefined) throw StripeApiError.invalid('customer_update can only be used with customer.', 'customer_update');
  for (const [key, value] of Object.entries(update ?? {})) {
    if (!['address', 'name', 'shipping'].includes(key))
      throw new StripeApiError(400, 'invalid_request_error', `Received unknown parameter: customer_update[${key}]`, {
        code: 'parameter_unknown',
        param: `customer_update[${key}]`,
      });
    enumParam(typeof value === 'string' ? value : 'object', ['auto', 'never'] as const, `customer_update[${key}]`);
  }
  const automatic = objectParam(form['automatic_tax'], 'automatic_tax');
  const enabled = automatic ? booleanParam(automatic['enabled'], 'automatic_tax[enabled]') : false;
  const taxIds = objectParam(form['tax_id_collection'], 'tax_id_collection');
  const collectTaxIds = taxIds ? booleanParam(taxIds['enabled'], 'tax_id_collection[enabled]') : false;
  const required = taxIds ? enumParam(optionalString(taxIds, 'required'), ['if_supported', 'never'] as const, 'tax_id_collection[required]') : null;
  // With an existing customer, Checkout may only collect what it is allowed to save on it: Stripe
  // refuses automatic tax without customer_update[address]=auto (the emulated customers hold no
  // address yet) and tax ID collection without customer_update[name]=auto.
  if (form['customer'] !== undefined) {
    if (enabled && update?.['address'] !== 'auto')
      throw StripeApiError.invalid(
        "Automatic tax calculation in Checkout requires a valid address on the Customer. Add a valid address to the Customer or set either customer_update[address] to 'auto' or customer_update[shipping] to 'auto' to save the address entered in Checkout to the Customer.",
        'customer_update[address]',
      );
    if (collectTaxIds && update?.['name'] !== 'auto')
      throw StripeApiError.invalid(
        "Tax ID collection requires updating business name on the customer. To enable tax ID collection for an existing customer, please set customer_update[name] to 'auto'.",
        'customer_update[name]',
      );
  }
  return {
    automatic_tax: { enabled, liability: null, provider: enabled ? 'stripe' : null, status: enabled ? 'requires_location_inputs' : null },
    billing_address_collection: enumParam(optionalString(form, 'billing_address_collection'), ['auto', 'required'] as const, 'billing_address_collection'),
    tax_id_collection: { enabled: collectTaxIds, required: collectTaxIds ? (required ?? 'never') : 'never' },
  };
}

/** What a buyer typed on the hosted page (or what a test pays with). */
export interface BuyerInput {
  name?: string | undefined;
  country?: string | undefined;
  line1?: string | undefined;
  postalCode?: string | undefined;
  city?: string | undefined;
  vatId?: string | undefined;
}

/** A consumer in France: what the in-process "the customer paid" actions enter when a test gives nothing. */
export const SANDBOX_BUYER: BuyerInput = { name: 'Sandbox Customer', country: 'FR', line1: '1 rue de la Paix', postalCode: '75002', city: 'Paris' };

/** Stripe's `eu_vat` type: an EU country prefix (EL for Greece, XI for Northern Ireland), then 2 to 12 characters with a digit. */
const EU_VAT = /^(AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI)(?=[0-9A-Z+*]*\d)[0-9A-Z+*]{2,12}$/;

/**
 * The session's customer_details once paid. The address is needed when the session asks for it
 * (`required`) and when Stripe Tax must locate the buyer; a VAT ID, when collection is on, must look
 * like one (Stripe checks the format on the page, then with VIES in the background).
 */
export function buyerDetails(session: StripeCheckoutSession, buyer: BuyerInput): CustomerDetails {
  const text = (v: string | undefined) => (v && v.trim() !== '' ? v.trim() : null);
  const address: StripeAddress = {
    city: text(buyer.city),
    country: text(buyer.country)?.toUpperCase() ?? null,
    line1: text(buyer.line1),
    line2: null,
    postal_code: text(buyer.postalCode),
    state: null,
  };
  const needsAddress = session.billing_address_collection === 'required' || session.automatic_tax.enabled;
  if (needsAddress && (!address.country || !/^[A-Z]{2}$/.test(address.country)))
    throw StripeApiError.invalid('Your billing address is incomplete: a country is required.');
  if (session.billing_address_collection === 'required' && (!address.line1 || !address.postal_code || !address.city)) {
    throw StripeApiError.invalid('Your billing address is incomplete.');
  }
  const vat = session.tax_id_collection.enabled ? (text(buyer.vatId)?.replace(/\s+/g, '').toUpperCase() ?? null) : null;
  if (vat !== null && !EU_VAT.test(vat)) throw StripeApiError.invalid('Your tax ID is invalid.');
  return {
    email: session.customer_email,
    name: text(buyer.name),
    address: needsAddress || address.country ? address : null,
    tax_exempt: 'none',
    tax_ids: vat ? [{ type: 'eu_vat', value: vat }] : [],
  };
}

/** Tags on every provider resource mailplane creates: how reconciliation and crash recovery find them. */
export const MAILPLANE_TAG = 'mailplane';
export const serverTag = (serverId: string) => `mailplane-server=${serverId}`;
export const familyTag = (family: 'ipv4' | 'ipv6') => `mailplane-family=${family}`;

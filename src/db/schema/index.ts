export * from './accounts.ts';
export * from './audit.ts';
export * from './billing.ts';
export * from './servers.ts';
export * from './ops.ts';
export * from './mailboxes.ts';
export * from './product-mail.ts';
export * from './backups.ts';

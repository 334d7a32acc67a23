/**
 * packages.ts is the one package list: install-mail-stack.sh and harden.sh
 * name no package themselves (each install is a group's placeholder), every
 * group is installed by a server's scripts and by the image bake, and the
 * digest an image is tagged with changes with the list and with the recipe.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderBakeFiles } from '../../../src/mailstack/bake-files.ts';
import { MAIL_STACK_PACKAGES, PACKAGE_GROUPS, packageDigest } from '../../../src/mailstack/packages.ts';

const template = (name: string) => readFileSync(new URL(`../../../templates/scripts/${name}`, import.meta.url), 'utf8');
const groups = Object.keys(PACKAGE_GROUPS);

describe('the mail stack package list', () => {
  it('is what the server scripts install, through one placeholder per group and no package named in them', () => {
    const installs = [...template('install-mail-stack.sh').matchAll(/^\s*install_packages (.+)$/gm)].map((m) => m[1]!.trim()).filter((a) => a !== '"$@"');
    for (const args of installs) expect(args, 'install_packages takes one group placeholder').toMatch(/^\{\{[a-z]+Packages\}\}$/);
    const harden = /for p in ([^;]+); do/.exec(template('harden.sh'))![1]!.trim();
    expect(harden).toBe('{{hardenPackages}}');
    const used = [...installs, harden].map((p) => /^\{\{([a-z]+)Packages\}\}$/.exec(p)![1]);
    expect([...new Set(used)].sort()).toEqual([...groups].sort());
  });

  it('is what the image bake installs, every group, with the digest in the script', () => {
    const bake = renderBakeFiles('bake.example').find((f) => f.path.endsWith('/bake-image.sh'))!.content;
    for (const name of MAIL_STACK_PACKAGES) expect(bake, name).toMatch(new RegExp(`[' ]${name.replace(/[.+]/g, '\\$&')}[' ]`));
    expect(bake).toContain(packageDigest());
    // Addresses (issue 23) are part of it: SRS, Sieve, ManageSieve, Lua passdbs.
    expect(MAIL_STACK_PACKAGES).toEqual(expect.arrayContaining(['postsrsd', 'dovecot-sieve', 'dovecot-managesieved', 'dovecot-auth-lua']));
  });

  it('has a digest that changes with the list and with the bake recipe', () => {
    const digest = packageDigest();
    expect(digest).toMatch(/^[0-9a-f]{12}$/);
    expect(packageDigest()).toBe(digest);
    expect(packageDigest({ ...PACKAGE_GROUPS, addresses: [...PACKAGE_GROUPS.addresses, 'vim'] })).not.toBe(digest);
    expect(packageDigest({ ...PACKAGE_GROUPS, addresses: PACKAGE_GROUPS.addresses.filter((p) => p !== 'postsrsd') })).not.toBe(digest);
    expect(packageDigest(PACKAGE_GROUPS, `${template('bake-image.sh')}\nrm -f /etc/another-secret\n`)).not.toBe(digest);
  });
});

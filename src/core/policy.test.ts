import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthContext } from './auth.js';
import { CloudError } from './errors.js';
import { canSee, requireAdmin, requireAuth, requireProjectRole, requireWriteOn, visibleOr404 } from './policy.js';

function ctx(role: 'admin' | 'member' | 'reader' | 'none', scope: { projectId?: string; domainId?: string } = { projectId: 'pA' }): AuthContext {
  const isAdmin = role === 'admin';
  const isMember = isAdmin || role === 'member';
  const isReader = isMember || role === 'reader';
  return {
    token: 't',
    userId: `u-${role}`,
    userName: role,
    userDomainId: 'default',
    userDomainName: 'Default',
    ...scope,
    roles: role === 'none' ? [] : [{ id: role, name: role }],
    methods: ['password'],
    auditIds: ['a'],
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    isAdmin,
    isMember,
    isReader,
  };
}

const status = (fn: () => unknown): number | 'ok' => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof CloudError, String(err));
    assert.ok(err.message.length > 10, 'a message a person can act on');
    return err.status;
  }
};

test('requireAuth: no context is 401', () => {
  assert.equal(status(() => requireAuth(undefined)), 401);
  assert.equal(status(() => requireAuth(ctx('reader'))), 'ok');
});

test('requireAdmin: only admin passes; others get 403 naming the need', () => {
  assert.equal(status(() => requireAdmin(ctx('admin'))), 'ok');
  assert.equal(status(() => requireAdmin(ctx('member'))), 403);
  assert.equal(status(() => requireAdmin(ctx('reader'))), 403);
  assert.equal(status(() => requireAdmin(undefined)), 401);
  assert.throws(() => requireAdmin(ctx('member'), 'identity:create_project'), /identity:create_project/);
});

test('requireProjectRole: readers read, members write, unscoped tokens get 403', () => {
  const table: [ReturnType<typeof ctx> | undefined, 'read' | 'write', number | 'ok'][] = [
    [ctx('admin'), 'read', 'ok'],
    [ctx('admin'), 'write', 'ok'],
    [ctx('member'), 'read', 'ok'],
    [ctx('member'), 'write', 'ok'],
    [ctx('reader'), 'read', 'ok'],
    [ctx('reader'), 'write', 403],
    [ctx('none'), 'read', 403],
    [ctx('member', {}), 'read', 403],
    [ctx('admin', { domainId: 'default' }), 'write', 403],
    [undefined, 'read', 401],
  ];
  for (const [c, access, want] of table) assert.equal(status(() => requireProjectRole(c, access)), want, `${c?.userName ?? 'none'} ${access}`);
  assert.equal(requireProjectRole(ctx('member'), 'write').projectId, 'pA');
  assert.throws(() => requireProjectRole(ctx('reader'), 'write'), /reader/);
});

test('canSee and visibleOr404: own project, admin, or shared; everything else 404', () => {
  assert.equal(canSee(ctx('member'), 'pA'), true);
  assert.equal(canSee(ctx('reader'), 'pA'), true);
  assert.equal(canSee(ctx('member'), 'pB'), false);
  assert.equal(canSee(ctx('member'), null), false);
  assert.equal(canSee(ctx('member'), undefined), false);
  assert.equal(canSee(ctx('member', {}), undefined), false, 'an unscoped token owns nothing');
  assert.equal(canSee(ctx('member'), 'pB', true), true);
  assert.equal(canSee(ctx('admin'), 'pB'), true);

  const thing = { owner: 'pB' };
  assert.equal(status(() => visibleOr404(ctx('member'), thing, (t) => t.owner, 'No such thing')), 404);
  assert.equal(status(() => visibleOr404(ctx('member'), undefined, (t: typeof thing) => t.owner, 'No such thing')), 404);
  assert.equal(visibleOr404(ctx('admin'), thing, (t) => t.owner, 'x'), thing);
  assert.equal(visibleOr404(ctx('reader'), { owner: 'pA' }, (t) => t.owner, 'x').owner, 'pA');
});

test('requireWriteOn: another project is 404 (never 403), a reader of this one 403', () => {
  assert.equal(status(() => requireWriteOn(ctx('member'), 'pA', 'No such server here')), 'ok');
  assert.equal(status(() => requireWriteOn(ctx('admin'), 'pB', 'No such server here')), 'ok');
  assert.equal(status(() => requireWriteOn(ctx('member'), 'pB', 'No such server here')), 404);
  assert.equal(status(() => requireWriteOn(ctx('reader'), 'pB', 'No such server here')), 404);
  assert.equal(status(() => requireWriteOn(ctx('reader'), 'pA', 'No such server here')), 403);
  assert.equal(status(() => requireWriteOn(ctx('member'), null, 'No such server here')), 404);
  assert.throws(() => requireWriteOn(ctx('member'), 'pB', 'No such server abc'), /No such server abc/);
});

/** The identity APIs: the logins, log-out, session validation and renewal (AccountManagerImpl, LoginManagerImpl). */
import type { ApiDef, Core } from './api-def.js';
import { mandatory, str } from './api-def.js';
import { type QuerySchema, type Row, renderRow } from './query.js';
import { ApiError } from './render.js';
import { type Principal, sessionInventory } from './sessions.js';

const SESSION_CLASS = 'org.zstack.header.identity.SessionInventory';

function loginReply(core: Core, principal: Principal): Row {
  const s = core.sessions.create(principal);
  return { inventory: renderRow(SESSION_SCHEMA, sessionInventory(s), core.timeZone) };
}

const SESSION_SCHEMA: QuerySchema = {
  className: SESSION_CLASS,
  fields: { createDate: 'date', expiredDate: 'date' },
};

const MSG_LOGIN_ACCOUNT = 'org.zstack.header.identity.APILogInByAccountMsg';
const MSG_LOGIN_USER = 'org.zstack.header.identity.APILogInByUserMsg';
const MSG_LOGIN_VID = 'org.zstack.iam2.api.APILoginIAM2VirtualIDMsg';
const MSG_RENEW = 'org.zstack.header.identity.APIRenewSessionMsg';

export const logInByAccount: ApiDef = {
  async: false,
  auth: false,
  paramName: 'logInByAccount',
  inventoryClass: SESSION_CLASS,
  run: ({ core, params }) => {
    const name = str(params.accountName);
    const password = str(params.password);
    if (name === undefined) mandatory('accountName', MSG_LOGIN_ACCOUNT);
    if (password === undefined) mandatory('password', MSG_LOGIN_ACCOUNT);
    const acc = [...core.world.accounts.values()].find((a) => a.name === name);
    // Compared as stored: the client must send the lowercase SHA-512 hex, not the plaintext.
    if (!acc || acc.passwordHash !== password)
      throw new ApiError('ID.1000', 'wrong account name or password');
    return loginReply(core, { kind: 'account', uuid: acc.uuid });
  },
};

export const logInByUser: ApiDef = {
  async: false,
  auth: false,
  paramName: 'logInByUser',
  inventoryClass: SESSION_CLASS,
  run: ({ core, params }) => {
    const userName = str(params.userName);
    const password = str(params.password);
    if (userName === undefined) mandatory('userName', MSG_LOGIN_USER);
    if (password === undefined) mandatory('password', MSG_LOGIN_USER);
    const accountUuid = str(params.accountUuid);
    const accountName = str(params.accountName);
    const acc = [...core.world.accounts.values()].find((a) =>
      accountUuid !== undefined ? a.uuid === accountUuid : a.name === accountName,
    );
    const user =
      acc && [...core.world.users.values()].find((u) => u.accountUuid === acc.uuid && u.name === userName);
    if (!user || user.passwordHash !== password) {
      throw new ApiError('ID.1000', 'wrong account or username or password');
    }
    return loginReply(core, { kind: 'user', uuid: user.uuid, accountUuid: user.accountUuid });
  },
};

export const loginIAM2VirtualID: ApiDef = {
  async: false,
  auth: false,
  paramName: 'loginIAM2VirtualID',
  inventoryClass: SESSION_CLASS,
  run: ({ core, params }) => {
    const name = str(params.name);
    const password = str(params.password);
    if (name === undefined) mandatory('name', MSG_LOGIN_VID);
    if (password === undefined) mandatory('password', MSG_LOGIN_VID);
    const vid = [...core.world.virtualIds.values()].find((v) => v.name === name);
    if (!vid || vid.passwordHash !== password)
      throw new ApiError('ID.1000', 'wrong virtual ID name or password');
    return loginReply(core, { kind: 'virtualId', uuid: vid.uuid, accountUuid: vid.accountUuid });
  },
};

export const logOut: ApiDef = {
  async: false,
  auth: false,
  run: ({ core, vars }) => {
    core.sessions.logout(vars.uuid ?? '');
    return {};
  },
};

export const validateSession: ApiDef = {
  async: false,
  auth: false,
  run: ({ core, vars }) => ({ valid: core.sessions.isValid(vars.uuid ?? '') }),
};

export const renewSession: ApiDef = {
  async: true,
  auth: true,
  paramName: 'renewSession',
  inventoryClass: SESSION_CLASS,
  run: ({ core, vars, params }) => {
    const duration = params.duration;
    if (duration !== undefined && duration !== null) {
      if (
        typeof duration !== 'number' ||
        !Number.isInteger(duration) ||
        duration < 60 ||
        duration > 31536000
      ) {
        throw new ApiError(
          'SYS.1007',
          `field[duration] of message[${MSG_RENEW}] must be in range of [60, 31536000], but ${String(duration)} found`,
        );
      }
    }
    const s = core.sessions.renew(vars.uuid ?? '', typeof duration === 'number' ? duration : undefined);
    return { inventory: renderRow(SESSION_SCHEMA, sessionInventory(s), core.timeZone) };
  },
};

const MSG_LOGIN = 'org.zstack.header.identity.login.APILogInMsg';

/**
 * The generic LogIn (APILogInMsg, `PUT /v1/login`, action `logIn`): LoginManagerImpl picks the backend
 * by `loginType`. Only `account` (AccountLoginBackend, open source) is simulated; any other type is
 * LoginManagerImpl's `unsupported login type` (SYS.1006).
 */
export const logIn: ApiDef = {
  async: false,
  auth: false,
  paramName: 'logIn',
  inventoryClass: SESSION_CLASS,
  run: ({ core, params }) => {
    const username = str(params.username);
    const password = str(params.password);
    const loginType = str(params.loginType);
    if (username === undefined) mandatory('username', MSG_LOGIN);
    if (password === undefined) mandatory('password', MSG_LOGIN);
    if (loginType === undefined) mandatory('loginType', MSG_LOGIN);
    if (loginType !== 'account') throw new ApiError('SYS.1006', `unsupported login type ${loginType}`);
    const acc = [...core.world.accounts.values()].find((a) => a.name === username);
    if (!acc || acc.passwordHash !== password)
      throw new ApiError('ID.1000', 'wrong account name or password');
    return loginReply(core, { kind: 'account', uuid: acc.uuid });
  },
};

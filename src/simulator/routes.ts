/** ZStack's URL mapping: which API a method and /v1 path reach (RestServer's AntPathMatcher table). */
import type { ApiDef } from './api-def.js';
import {
  logIn,
  logInByAccount,
  logInByUser,
  loginIAM2VirtualID,
  logOut,
  renewSession,
  validateSession,
} from './api-session.js';
import {
  addFlow,
  changeTicketStatus,
  createFlowCollection,
  createTicket,
  deleteFlow,
  deleteFlowCollection,
  deleteTicket,
  getResourceNames,
  platformTimeZone,
  queryArchivedHistories,
  queryArchivedTickets,
  queryCollections,
  queryFlows,
  queryHistories,
  queryTickets,
  queryTypes,
  updateTicketRequest,
} from './api-ticket.js';

export interface Route {
  segments: string[];
  variables: number;
  apis: { method: string; api: ApiDef }[];
}

function route(pattern: string, ...apis: [string, ApiDef][]): Route {
  const segments = pattern.split('/').slice(1);
  return {
    segments,
    variables: segments.filter((s) => s.startsWith('{')).length,
    apis: apis.map(([method, api]) => ({ method, api })),
  };
}

// Literal paths win over patterns (e.g. /v1/tickets/histories over /v1/tickets/{uuid}).
const ROUTES: Route[] = [
  route('/v1/login', ['PUT', logIn]),
  route('/v1/accounts/login', ['PUT', logInByAccount]),
  route('/v1/accounts/users/login', ['PUT', logInByUser]),
  route('/v1/iam2/virtual-ids/login', ['PUT', loginIAM2VirtualID]),
  route('/v1/accounts/sessions/{uuid}', ['DELETE', logOut]),
  route('/v1/accounts/sessions/{uuid}/valid', ['GET', validateSession]),
  route('/v1/accounts/sessions/{uuid}/renew', ['PUT', renewSession]),
  route('/v1/tickets', ['POST', createTicket], ['GET', queryTickets]),
  route('/v1/tickets/{uuid}', ['GET', queryTickets], ['DELETE', deleteTicket]),
  route('/v1/tickets/{uuid}/actions', ['PUT', changeTicketStatus], ['PUT', updateTicketRequest]),
  route('/v1/tickets/histories', ['GET', queryHistories]),
  route('/v1/tickets/histories/{uuid}', ['GET', queryHistories]),
  route('/v1/tickets/archives', ['GET', queryArchivedTickets]),
  route('/v1/tickets/histories/archives', ['GET', queryArchivedHistories]),
  route('/v1/ticket-types', ['GET', queryTypes]),
  route('/v1/ticket-types/{uuid}', ['GET', queryTypes]),
  route('/v1/tickets/flow-collections', ['POST', createFlowCollection], ['GET', queryCollections]),
  route('/v1/tickets/flow-collections/{uuid}', ['GET', queryCollections], ['DELETE', deleteFlowCollection]),
  route('/v1/tickets/flow', ['POST', addFlow], ['GET', queryFlows]),
  route('/v1/tickets/flow/{uuid}', ['GET', queryFlows], ['DELETE', deleteFlow]),
  route('/v1/management-nodes/platform-timezone', ['GET', platformTimeZone]),
  route('/v1/resources/names', ['GET', getResourceNames]),
].sort((a, b) => a.variables - b.variables);

export function matchRoute(v1Path: string): { route: Route; vars: Record<string, string> } | undefined {
  const parts = v1Path.split('/').slice(1);
  for (const r of ROUTES) {
    if (r.segments.length !== parts.length) continue;
    const vars: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = r.segments[i] as string;
      const part = parts[i] as string;
      if (seg.startsWith('{')) {
        if (part === '') ok = false;
        else vars[seg.slice(1, -1)] = decodeURIComponent(part);
      } else ok = seg === part;
    }
    if (ok) return { route: r, vars };
  }
  return undefined;
}

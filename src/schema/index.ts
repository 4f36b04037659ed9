import { builder } from './builder.js';
import './scalars.js';
import './ticket.js';
import './session.js';

/** The whole GraphQL schema; building it opens no socket and reads no environment. */
export const schema = builder.toSchema({ sortSchema: false });

import { builder } from './builder.js';
import './scalars.js';
import './ticket.js';
import './ticket-type.js';
import './flow-collection.js';
import './ticket-history.js';
import './ticket-query.js';
import './ticket-mutation.js';
import './archived-ticket.js';
import './resource.js';
import './session.js';
import './api-job.js';
import './subscription.js';
import './error-code.js';
import './node.js';

/** The whole GraphQL schema; building it opens no socket and reads no environment. */
export const schema = builder.toSchema({ sortSchema: false });

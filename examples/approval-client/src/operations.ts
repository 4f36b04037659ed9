import { graphql } from './gql/index.js';

// The approval screen's operations; codegen turns each into a typed document.

export const LogIn = graphql(`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) {
      session {
        uuid
        expiredDate
      }
    }
  }
`);

export const PendingTickets = graphql(`
  query PendingTickets($first: Int!, $after: String) {
    tickets(where: { statusIn: [PENDING, INTERMEDIATE_APPROVED] }, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        uuid
        name
        status
        createDate
        currentFlowUuid
        accountSystemContext {
          project {
            name
          }
          virtualId {
            name
          }
        }
        request {
          requestName
          apiName
          action
          resources {
            uuid
            name
            type
          }
        }
        flowCollection {
          flows {
            uuid
            approver {
              name
            }
          }
        }
      }
    }
  }
`);

export const TicketWithHistory = graphql(`
  query TicketWithHistory($uuid: ID!) {
    ticket(uuid: $uuid) {
      uuid
      name
      description
      status
      lastOpDate
      history {
        fromStatus
        toStatus
        comment
        operatorUuid
        operator {
          name
        }
        createDate
      }
    }
  }
`);

export const DecideTicket = graphql(`
  mutation DecideTicket($uuid: ID!, $event: TicketStatusEvent!, $comment: String) {
    changeTicketStatus(input: { uuid: $uuid, statusEvent: $event, comment: $comment }) {
      ticket {
        uuid
        status
        lastOpDate
      }
    }
  }
`);

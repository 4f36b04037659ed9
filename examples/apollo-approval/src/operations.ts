import type { TypedDocumentNode } from '@apollo/client';
import { gql } from '@apollo/client';

// The approval screen's three operations. Every object with an identity is selected with its `id`, so
// Apollo's InMemoryCache (at its defaults) stores each ticket once, by `__typename` + `id`, and the
// mutation's answer updates the very entry the list shows.

export type TicketStatus = 'PENDING' | 'INTERMEDIATE_APPROVED' | 'FINAL_APPROVED' | 'REJECTED' | 'CANCELLED';

export interface ListedTicket {
  __typename?: 'Ticket';
  id: string;
  uuid: string;
  name: string;
  status: TicketStatus | null;
}

export const LogIn: TypedDocumentNode<
  { logIn: { session: { uuid: string } } },
  { accountName: string; password: string }
> = gql`
  mutation LogIn($accountName: String!, $password: String!) {
    logIn(input: { kind: ACCOUNT, accountName: $accountName, password: $password }) {
      session {
        uuid
      }
    }
  }
`;

export const PendingTickets: TypedDocumentNode<
  { tickets: { totalCount: number; nodes: ListedTicket[] } },
  { first: number }
> = gql`
  query PendingTickets($first: Int!) {
    tickets(first: $first, where: { statusIn: [PENDING, INTERMEDIATE_APPROVED] }) {
      totalCount
      nodes {
        id
        uuid
        name
        status
      }
    }
  }
`;

export const DecideTicket: TypedDocumentNode<
  { changeTicketStatus: { ticket: ListedTicket & { lastOpDate: string | null } } },
  { uuid: string; event: 'APPROVE' | 'REJECT'; comment: string }
> = gql`
  mutation DecideTicket($uuid: ID!, $event: TicketStatusEvent!, $comment: String) {
    changeTicketStatus(input: { uuid: $uuid, statusEvent: $event, comment: $comment }) {
      ticket {
        id
        uuid
        name
        status
        lastOpDate
      }
    }
  }
`;

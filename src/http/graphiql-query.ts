/** The document GraphiQL opens with: a short tour of the approval flow (test/client/graphiql-page.test.ts parses it). */
export const DEFAULT_QUERY = `# Welcome to the ZStack GraphQL gateway.
#
# Run an operation: press the ▶ button and pick its name
# (or put the cursor inside it and press Ctrl-Enter).
#
# 1. Run LogIn (needs no header) and copy session.uuid
#    from the result.
# 2. Open the "Headers" tab below the editor and set:
#      { "Authorization": "OAuth <the session uuid>" }
#    Every other operation needs that header.
# 3. Run PendingTickets and pick a ticket uuid: each ticket
#    shows its project, requester, approvers and the
#    resources it asks for by name, not by uuid.
# 4. Put it in the "Variables" tab:
#      { "uuid": "<the ticket uuid>" }
#    and run Approve (or Reject), then Ticket to see
#    its history.

mutation LogIn {
  logIn(input: {
    kind: ACCOUNT
    accountName: "admin"
    password: "password"
  }) {
    session { uuid expiredDate }
  }
}

query PendingTickets {
  tickets(where: { statusIn: [PENDING] }, first: 10) {
    nodes {
      uuid name status currentFlowUuid
      accountSystemContext {
        project { name }
        virtualId { name }
      }
      request { action resources { name type } }
      flowCollection { flows { uuid name approver { name } } }
    }
  }
}

mutation Approve($uuid: ID!) {
  changeTicketStatus(input: {
    uuid: $uuid
    statusEvent: APPROVE
    comment: "Looks good"
  }) {
    ticket { uuid name status lastOpDate }
  }
}

mutation Reject($uuid: ID!) {
  changeTicketStatus(input: {
    uuid: $uuid
    statusEvent: REJECT
    comment: "Please use a smaller flavour"
  }) {
    ticket { uuid name status lastOpDate }
  }
}

query Ticket($uuid: ID!) {
  ticket(uuid: $uuid) {
    uuid name status
    history { fromStatus toStatus comment operator { name } createDate }
  }
}
`;

/*
** wr_port.c -- I/O completion ports: association, the queue of entries,
** posted packets, taking entries, rearming, closing.
**
** Exports: wr_port_new, wr_port_associate, wr_port_post, wr_port_queued,
**          wr_port_close, wr_port_closed, wr_port_release,
**          wr_socket_port, wr_port_pollfd, wr_port_timeout,
**          wr_overlapped_rearm, wr_overlapped_rearmed, wr_port_peek,
**          wr_port_take, wr_port_take_head, wr_port_first_op,
**          wr_port_take_op; for the core:
**          wr__port_rearm_all, wr__port_loop_gone.  (The wait,
**          wr_port_get, is in wr_loop.c; the queue a completion goes onto,
**          below every caller, is wr_ov.c's; a port's last reference,
**          wr_int.h's.)
**
** The model.  A socket associated with a port sends it the completion of
** every operation posted without a routine (wr__signal decides): the
** operation's own object goes on the port's queue, in completion order,
** still holding its reference on the socket, as an object on the APC
** queue does.  It stays busy until a wait takes its entry.  A packet
** posted with wr_port_post is an object of the core's own, freed when its
** entry is taken.  An object marked rearm goes, once taken, onto the
** port's rearm list instead, and the next wait posts it again before it
** looks at the queue: a receiver that keeps N operations posted then makes
** no call per datagram but the wait.
**
** References: the owner holds one on the port, each associated socket one
** until it is freed (wr_int.h, wr__socket_unref).  The port does not hold
** its sockets: the entries do.
*/
#include <stdlib.h>
#include <string.h>

#include "wr_int.h"

/* =====================================================================
** Birth and death
** =================================================================== */

int wr_port_new(wr_loop *loop, wr_port **out) {
  wr_port *port = calloc(1, sizeof *port);
  if (port == NULL) return WSA_NOT_ENOUGH_MEMORY;
  port->loop = loop;
  port->refs = 1;                    /* the owner */
  port->next = loop->ports;
  if (loop->ports) loop->ports->prev = port;
  loop->ports = port;
  *out = port;
  return 0;
}

static void ports_unlink(wr_port *port) {
  wr_loop *loop = port->loop;
  if (loop == NULL) return;
  if (port->prev) port->prev->next = port->next;
  else loop->ports = port->next;
  if (port->next) port->next->prev = port->prev;
  port->prev = port->next = NULL;
}


/* =====================================================================
** Association and the queue
** =================================================================== */

int wr_port_associate(wr_port *port, wr_socket *s, uintptr_t key) {
  if (port->closed || port->loop == NULL) return WR_ERROR_INVALID_HANDLE;
  if (wr__closed(s)) return WSAENOTSOCK;
  if (s->port != NULL)
    return wr__why(port->loop, WSA_INVALID_PARAMETER, "the socket belongs "
                   "to a completion port already (one port per socket)");
  if (s->loop != port->loop) return WSA_INVALID_PARAMETER;
  s->port = port;
  s->key = key;
  port->refs++;
  return 0;
}

wr_port *wr_socket_port(const wr_socket *s) { return s->port; }

size_t wr_port_queued(const wr_port *port) { return port->nq; }

int wr_port_closed(const wr_port *port) { return port->closed; }



int wr_port_post(wr_port *port, size_t bytes, uintptr_t key,
                 wr_overlapped *ov) {
  wr_overlapped *p;
  if (port->closed || port->loop == NULL) return WR_ERROR_INVALID_HANDLE;
  if ((p = malloc(sizeof *p)) == NULL) return WSA_NOT_ENOUGH_MEMORY;
  memset(p, 0, sizeof *p);     /* a fresh object of the core's own */
  p->packet = 1;
  p->state = WR_OV_DONE;
  p->bytes = bytes;
  p->key = key;
  p->seq = ++port->seq;
  p->hEvent = ov;                    /* handed back untouched */
  p->where = WR_IN_PORT;
  wr__list_push(&port->q, p);
  port->nq++;
  wr__plat_port_queued(port);
  return 0;
}

/* =====================================================================
** Taking entries, rearming
** =================================================================== */

/* An outcome after which the socket still receives or sends (a
** datagram's error too). */
static inline int survivable(const wr_socket *s,
                             const wr_overlapped *ov) {
  if (ov->kind > WR_OP_SEND) return 0;       /* AcceptEx, ConnectEx: once */
  if (ov->error == 0)
    return ov->bytes > 0 || wr__message_oriented(s) ||
           ov->kind == WR_OP_SEND;
  return wr__message_oriented(s) &&
         (ov->error == WSAEMSGSIZE || ov->error == WSAECONNRESET ||
          ov->error == WSAENETRESET);
}

static inline int rearms(const wr_socket *s, const wr_overlapped *ov) {
  return ov->rearm && !(ov->in_flags & WR_MSG_WAITALL) && !wr__closed(s) &&
         s->loop != NULL && survivable(s, ov);
}

size_t wr_port_peek(const wr_port *port, wr_port_entry *e, size_t n) {
  const wr_overlapped *ov = port->q.head;
  size_t k;
  for (k = 0; k < n && ov != NULL; k++, e++, ov = ov->link.next) {
    e->key = ov->key;
    e->bytes = ov->bytes;
    e->error = ov->error;
    e->flags = ov->flags;
    e->posted = ov->packet;
    e->ov = ov->packet ? (wr_overlapped *)ov->hEvent : (wr_overlapped *)ov;
    e->seq = ov->seq;
  }
  return k;
}

/* The head entry off the queue: the packet freed, or the operation's
** object released (its msg too), or kept busy on the rearm list. */
static inline void take_one(wr_port *port) {
  wr_overlapped *ov = port->q.head;
  wr_socket *s = ov->sock;
  assert(ov->link.prev == NULL && port->nq > 0);
  port->q.head = ov->link.next;       /* the head off: wr__list_remove */
  if (port->q.head) port->q.head->link.prev = NULL;
  else port->q.tail = NULL;
  ov->link.next = NULL;
  port->nq--;
  ov->where = WR_IN_NONE;
  if (ov->packet) {
    free(ov);
    return;
  }
  if (ov->msg) ov->msg->pending = 0;
  if (rearms(s, ov)) {
    ov->where = WR_IN_REARM;          /* busy, its reference on s kept */
    wr__list_push(&port->rearm, ov);
    return;
  }
  ov->sock = NULL;
  wr__socket_unref(s);
}

/* The caller ran nothing since its peek that could take or drop an
** entry: the head is e, taken unasked (the sanitizer build's assert
** checks it). */
void wr_port_take_head(wr_port *port, const wr_port_entry *e) {
  assert(port->q.head != NULL && port->q.head->seq == e->seq);
  (void)e;
  take_one(port);
}

static inline wr_overlapped *first_op(const wr_port *port) {
  wr_overlapped *ov = port->q.head;
  return ov != NULL && !ov->packet ? ov : NULL;
}

wr_overlapped *wr_port_first_op(const wr_port *port) {
  return first_op(port);
}

wr_overlapped *wr_port_take_op(wr_port *port, wr_overlapped *op) {
  assert(port->q.head == op && !op->packet);
  (void)op;
  take_one(port);
  return first_op(port);
}

/* The queue changes only at its head when an entry is taken or dropped,
** and each entry has its own number: the same number at the head is the
** same entry, untouched. */
int wr_port_take(wr_port *port, const wr_port_entry *e) {
  if (port->q.head == NULL || port->q.head->seq != e->seq) return 0;
  take_one(port);
  return 1;
}

/*
** Post again what the last wait took with rearm set, in the order it was
** taken.  A post that fails completes to the port with its failure (and is
** not rearmed after it: the failures a post returns are not survivable).
*/
void wr__port_rearm_all(wr_port *port) {
  wr_overlapped *ov;
  while ((ov = port->rearm.head) != NULL) {
    wr_socket *s = ov->sock;
    int r;
    wr__list_remove(&port->rearm, ov);
    ov->where = WR_IN_NONE;
    r = wr__repost(s, ov);
    if (r != 0 && r != WSA_IO_PENDING) {
      ov->sock = s;
      ov->state = WR_OV_DONE;
      wr__socket_ref(s);
      wr__port_queue(port, s, ov);
    }
    wr__socket_unref(s);              /* the rearm list's reference */
  }
}

int wr_overlapped_rearmed(const wr_overlapped *ov) { return ov->rearm; }

void wr_overlapped_rearm(wr_overlapped *ov, int on) {
  wr_socket *s = ov->sock;
  ov->rearm = on != 0;
  if (on || ov->where != WR_IN_REARM) return;
  /* waiting to be reposted: not any more, it is the caller's again */
  wr__port_unlink(s->port, ov);
  ov->sock = NULL;
  wr__socket_unref(s);
}

/* =====================================================================
** Closing
** =================================================================== */

/* Drop the entry ov: the caller takes no entry from here on.  An
** operation's object is left signalled (the event hook says so). */
static void drop_entry(wr_port *port, wr_overlapped *ov, int hook) {
  wr_socket *s = ov->sock;
  wr_loop *loop = port->loop;
  wr__port_unlink(port, ov);
  if (ov->packet) {
    free(ov);
    return;
  }
  if (ov->msg) ov->msg->pending = 0;
  ov->state = WR_OV_DONE;
  ov->sock = NULL;
  if (hook && loop && loop->hook) loop->hook(ov, loop->hook_data);
  wr__socket_unref(s);
}

static void drop_all(wr_port *port, int hook) {
  while (port->q.head) drop_entry(port, port->q.head, hook);
  while (port->rearm.head) drop_entry(port, port->rearm.head, hook);
}

void wr_port_close(wr_port *port) {
  if (port->closed) return;
  port->closed = 1;
  drop_all(port, 1);
  if (port->loop) wr__plat_port_close(port);
  ports_unlink(port);
  port->loop = NULL;
}

void wr_port_release(wr_port *port) {
  wr_port_close(port);
  wr__port_unref(port);
}


/* The loop is being destroyed: nobody will take an entry again. */
void wr__port_loop_gone(wr_loop *loop) {
  wr_port *port;
  while ((port = loop->ports) != NULL) {
    drop_all(port, 0);
    wr__plat_port_close(port);
    ports_unlink(port);
    port->loop = NULL;
    port->closed = 1;
  }
}

/* =====================================================================
** Inside another event loop
** =================================================================== */

int wr_port_pollfd(wr_port *port, int *fd) {
  if (port->closed || port->loop == NULL) return WR_ERROR_INVALID_HANDLE;
  return wr__plat_port_pollfd(port, fd);
}

long wr_port_timeout(wr_port *port) {
  if (port->closed || port->loop == NULL) return -1;
  if (port->nq > 0 || port->rearm.head) return 0;
  return wr__plat_port_timeout(port);
}

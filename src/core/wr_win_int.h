/*
** wr_win_int.h -- what the Windows platform's files share among
** themselves.  Only wr_win*.c include it; the engine never does.
**
** Exports: wr_win_send.c: wr__win_extension, wr__win_post_io,
**          wr__win_io_result.
**
** Floors: wr_win.c owns the ops, the loop's port and the receives; it
** hands a send, an AcceptEx or a ConnectEx to wr_win_send.c to post, and,
** once the kernel is done with it, to take its result.  Neither calls the
** engine: a finished operation goes up through loop->plat.up (wr_win.c).
*/
#ifndef WR_WIN_INT_H
#define WR_WIN_INT_H

#include "wr_int.h"

WR_INTERNAL_BEGIN

/* wr_win_send.c */
/*
** The extension function `id` names (SIO_GET_EXTENSION_FUNCTION_POINTER)
** into *fn, looked up on s once (*fn not NULL: known already): 0 or the
** WSA code.
*/
int wr__win_extension(wr_socket *s, GUID id, void *fn, size_t size);
/*
** Hand ov (a send, an AcceptEx or a ConnectEx) to the kernel with op's
** OVERLAPPED: 0 (done at once: a packet follows all the same),
** WSA_IO_PENDING, or the failure (no packet follows).
*/
int wr__win_post_io(wr_socket *s, wr_overlapped *ov, wr_win_op *op);
/*
** The kernel is done with op: set ov's result from err and n (what
** WSAGetOverlappedResult said) and what the kind adds: the first data of
** an AcceptEx copied into ov's buffers and its socket's accept context, a
** ConnectEx's connect context, the bytes a send moved before it ended.
*/
void wr__win_io_result(wr_socket *s, wr_overlapped *ov, wr_win_op *op,
                       unsigned err, size_t n);

WR_INTERNAL_END

#endif

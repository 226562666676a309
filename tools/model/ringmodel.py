#!/usr/bin/env python3
"""ringmodel — an exhaustive, explicit-state model of the ring protocol.

Checks every interleaving of small configurations: producers that put
(intent, tail CAS, payload, commit, wake-up), claim and abort, get killed
at any step or stall for any time (a stall is simply not being scheduled:
layout 2 has no timer), a consumer that polls, steps past holes, recovers
dead producers' reservations, releases in any order, sleeps and wakes, and
is killed and restarted at any step. Payload words are chosen adversarially
from the control words of the protocol (zero, headers, free words).

Properties, checked in every reachable state (or at the end, for wake-ups):
  LOST        a put returned 0 and its event can no longer be delivered
  CORRUPT     an event was delivered with bytes other than those put
  DUPLICATE   an event released by the consumer was delivered again
  AFTER-ERROR an event whose put returned an error was delivered
  STUCK       the consumer sleeps for good while an event whose put
              returned 0 (and whose producer completed its wake-up) waits
  BAD-WORD    the consumer found a header it cannot explain

`--layout 1` checks a model of the previous protocol (free words lap << 32,
header claimed by CAS, BUSY/commit CAS, recovery by timer or PID probe,
single-producer plain tail store, sleeping cleared before the wake) and
must find its defects; `--expect-violation` makes that the pass condition.

Abstractions (argued in include/ringpub/layout.h): one step per shared-
memory access of the producer; the consumer's classification of a 0 header
reads the intents and reloads the header in one step (the code reads them
in that order; an intent changes only after its owner's commit store, so
reading them one by one can only see more commits); a slot is never reused
by another producer within a run; a record is a header word and one or two
payload words; the consumer releases one delivered event at a time, in any
order (range releases, the in-order fast path and quarantine are covered by
tests/test_stall.c, test_put_drain.c and test_corrupt.c); the consumer's
back-off and grace period are timing only and are not modelled (any
interleaving is explored). Memory is sequentially consistent here; the one
place the code relies on a weaker order, the release (not seq_cst) commit of
rule 4, is argued in layout.h: it can only make a wake-up late (the
consumer's 10 ms recheck of a record in flight), never lose an event.
"""
import argparse
import sys
from collections import deque

# ---------------------------------------------------------------- words
# Words are small tuples. Layout 2: 0, ('W', len, slot) (CLAIM), ('C', len, slot, done), ('S', len).
# Layout 1: ('F', lap), ('B', len, pid), ('L', len, pid), ('K', len).
ZERO = 0


def payload_domain(layout, cap):
    """Adversarial payload words: every control word a consumer or a stale
    producer might compare with."""
    if layout == 2:
        return [ZERO, ('C', 1, 0, False)]
    return [('F', 0), ('F', 1), ('B', 1, 0)]


class Config:
    def __init__(self, layout, cap, puts, sizes, kills, consumer_kills, single, namespace, claims):
        self.layout = layout
        self.cap = cap              # ring capacity in words
        self.puts = puts            # puts per producer
        self.sizes = sizes          # record size (words) per producer
        self.kills = kills          # producers may be killed
        self.consumer_kills = consumer_kills
        self.single = single        # single-producer ring, two threads of one handle (layout 1 defect 6)
        self.namespace = namespace  # layout 1: the consumer's PID probe says "dead" for live producers
        self.claims = claims        # producer 0 aborts instead of committing its last put
        self.nprod = len(sizes)


# ---------------------------------------------------------------- state
# A state is a tuple:
#  (words, tail, head, releasing, sleeping, intents, alive, prods, cons, ghost)
# prods[i] = (pc, k, t, content, woke)   pc: see step_producer
# cons = (alive, read_pos, holes, pending, cpc, blocked)
#   holes: tuple of (pos, size, slot, delivered); pending: tuple of (pos, size, eid)
# ghost = (accepted, errored, delivered, released, bad)
#   accepted/errored: frozenset of eid; delivered: tuple of (eid, count); released: frozenset


def initial(cfg):
    words = tuple(ZERO if cfg.layout == 2 else ('F', 0) for _ in range(cfg.cap))
    prods = tuple(('start', 0, 0, (), False) for _ in range(cfg.nprod))
    intents = tuple(None for _ in range(cfg.nprod))
    alive = tuple(True for _ in range(cfg.nprod))
    cons = (True, 0, (), (), 'poll', False)
    ghost = (frozenset(), frozenset(), (), frozenset(), None, frozenset(), frozenset())
    return (words, 0, 0, 0, 0, intents, alive, prods, cons, ghost)


def setw(words, pos, cap, val):
    w = list(words)
    w[pos % cap] = val
    return tuple(w)


def getw(words, pos, cap):
    return words[pos % cap]


def with_prod(prods, i, p):
    return prods[:i] + (p,) + prods[i + 1:]


def ghost_add(ghost, accepted=None, errored=None, deliver=None, release=None, bad=None, resv=None, woke=None):
    acc, err, dlv, rel, b, rs, wk = ghost
    if resv is not None:
        rs = rs | {resv}
    if woke is not None:
        wk = wk | {woke}
    if accepted is not None:
        acc = acc | {accepted}
    if errored is not None:
        err = err | {errored}
    if deliver is not None:
        eid, ok = deliver
        d = dict(dlv)
        d[eid] = d.get(eid, 0) + 1
        dlv = tuple(sorted(d.items()))
        if not ok and b is None:
            b = 'CORRUPT: event %s delivered with other bytes' % (eid,)
        if eid in rel and b is None:
            b = 'DUPLICATE: event %s delivered after it was released' % (eid,)
        if eid in err and b is None:
            b = 'AFTER-ERROR: event %s delivered though its put failed' % (eid,)
    if release is not None:
        rel = rel | {release}
    if bad is not None and b is None:
        b = bad
    return (acc, err, dlv, rel, b, rs, wk)


# ---------------------------------------------------------------- layout 2
def content_ok(words, pos, cap, content):
    return tuple(getw(words, pos + 1 + j, cap) for j in range(len(content))) == content


def copy_word(cfg, s, i, j):
    """Producer i writes payload word j of its record (one step per word)."""
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    pc, k, t, content, woke = prods[i]
    w2 = setw(words, t + 1 + j, cfg.cap, content[j])
    return [(w2, tail, head, rel, sleeping, intents, alive,
             with_prod(prods, i, ('copy%d' % (j + 1), k, t, content, woke)), cons, ghost)]


def l2_producer(cfg, s, i):
    """Successor states of producer i's next step (layout 2)."""
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    pc, k, t, content, woke = prods[i]
    need = cfg.sizes[i]
    eid = (i, k)
    out = []
    if not alive[i] or pc == 'done':
        return out
    if pc == 'start':
        if k == cfg.puts:
            return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('done', k, 0, (), woke)),
                     cons, ghost)]
        # choose the event's payload (adversarial), read the tail and head
        for c in product(payload_domain(2, cfg.cap), need - 1):
            if tail + need - head > cfg.cap:  # full
                g = ghost_add(ghost, errored=eid)
                out.append((words, tail, head, rel, sleeping, intents, alive,
                            with_prod(prods, i, ('start', k + 1, 0, (), woke)), cons, g))
                break
            out.append((words, tail, head, rel, sleeping, intents, alive,
                        with_prod(prods, i, ('intent', k, tail, c, woke)), cons, ghost))
        return out
    if pc == 'intent':
        intents2 = intents[:i] + ((t, need),) + intents[i + 1:]
        return [(words, tail, head, rel, sleeping, intents2, alive, with_prod(prods, i, ('cas', k, t, content, woke)),
                 cons, ghost)]
    if pc == 'cas':
        if tail == t:
            return [(words, t + need, head, rel, sleeping, intents, alive,
                     with_prod(prods, i, ('claimhdr', k, t, content, woke)), cons,
                     ghost_add(ghost, resv=(t, i, eid, content)))]
        # lost the CAS: reread (space check again); the stale intent stays until rewritten
        if tail + need - head > cfg.cap:
            intents2 = intents[:i] + (None,) + intents[i + 1:]
            g = ghost_add(ghost, errored=eid)
            return [(words, tail, head, rel, sleeping, intents2, alive,
                     with_prod(prods, i, ('start', k + 1, 0, (), woke)), cons, g)]
        return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('intent', k, tail, content, woke)),
                 cons, ghost)]
    if pc == 'claimhdr':  # the CLAIM header, before any payload word
        w2 = setw(words, t, cfg.cap, ('W', need - 1, i))
        return [(w2, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('copy0', k, t, content, woke)),
                 cons, ghost)]
    if pc.startswith('copy'):
        j = int(pc[4:])
        if j < len(content):
            return copy_word(cfg, s, i, j)
        abort = cfg.claims and i == 0 and k == cfg.puts - 1
        hw = ('S', need - 1) if abort else ('C', need - 1, i, False)
        w2 = setw(words, t, cfg.cap, hw)
        g = ghost_add(ghost, errored=eid) if abort else ghost_add(ghost, accepted=eid)
        return [(w2, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('wake', k, t, content, False)),
                 cons, g)]
    if pc == 'wake':  # load sleeping; FUTEX_WAKE_OP if 1
        if sleeping:
            return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('wakeop', k, t, content, False)),
                     cons, ghost)]
        return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('start', k + 1, 0, (), True)),
                 cons, ghost_add(ghost, woke=eid))]
    if pc == 'wakeop':  # atomic in the kernel: sleeping = 0, wake the waiter
        c_alive, rp, holes, pend, cpc, blocked = cons
        cons2 = (c_alive, rp, holes, pend, cpc, False)
        return [(words, tail, head, rel, 0, intents, alive, with_prod(prods, i, ('start', k + 1, 0, (), True)),
                 cons2, ghost_add(ghost, woke=eid))]
    raise AssertionError(pc)


def product(dom, n):
    if n == 0:
        yield ()
        return
    for x in dom:
        for rest in product(dom, n - 1):
            yield (x,) + rest


def claimants(intents, pos):
    return [(i, it[1]) for i, it in enumerate(intents) if it is not None and it[0] == pos]


def is_boundary(words, intents, tail, e, cap):
    return e == tail or getw(words, e, cap) != ZERO or any(it is not None and it[0] == e for it in intents)


def l2_consumer(cfg, s):
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    c_alive, rp, holes, pend, cpc, blocked = cons
    out = []
    if not c_alive or blocked:
        return out

    def st(words=words, head=head, rel=rel, sleeping=sleeping, intents=intents, rp=rp, holes=holes, pend=pend,
           cpc='poll', blocked=False, ghost=ghost):
        return (words, tail, head, rel, sleeping, intents, alive, prods,
                (True, rp, holes, pend, cpc, blocked), ghost)

    if cpc.startswith('rel2:'):  # release step 2: zero [head, end), then head = end
        end = int(cpc[5:])
        w2 = words
        for p in range(head, end):
            w2 = setw(w2, p, cfg.cap, ZERO)
        holes2 = tuple(h for h in holes if h[0] >= end)
        return [st(words=w2, head=end, holes=holes2)]
    if cpc == 'sleep1':  # sleeping = 1, then check
        return [st(sleeping=1, cpc='sleep2')]
    if cpc == 'sleep2':
        if ready(cfg, words, tail, rp, holes):
            return [st(sleeping=0)]
        return [st(cpc='sleep3')]
    if cpc == 'sleep3':  # FUTEX_WAIT(&sleeping, 1); 10 ms at most while anything is in flight
        if sleeping == 1 and rp == tail and not holes:
            return [st(cpc='poll', blocked=True)]
        return [st(sleeping=0)]

    did = False
    # 1. holes: one committed -> deliver alone; aborted -> drop; owner dead -> bury
    for hi, (hp, hs, hslot, hdel) in enumerate(holes):
        if hdel:
            continue
        w = getw(words, hp, cfg.cap)
        if w != ZERO and w[0] == 'C':
            ok, eid = deliver_check(cfg, words, hp, w, prods, ghost)
            holes2 = holes[:hi] + ((hp, hs, hslot, True),) + holes[hi + 1:]
            out.append(st(holes=holes2, pend=pend + ((hp, hs, eid),), ghost=ghost_add(ghost, deliver=(eid, ok))))
            did = True
        elif w != ZERO and w[0] == 'S':
            out.append(st(holes=holes[:hi] + holes[hi + 1:]))
            did = True
        elif w != ZERO and w[0] == 'W':
            if not alive[w[2]]:
                out.append(st(words=setw(words, hp, cfg.cap, ('S', w[1])), intents=clear_intents(intents, w[2], hp),
                              holes=holes[:hi] + holes[hi + 1:]))
                did = True
        elif w == ZERO:
            b = bury(cfg, words, tail, intents, alive, hp)
            if b is not None:
                w2, intents2 = b
                out.append(st(words=w2, intents=intents2, holes=holes[:hi] + holes[hi + 1:]))
                did = True
    # 2. the walk at read_pos
    if rp != tail:
        w = getw(words, rp, cfg.cap)
        if w == ZERO:
            cl = claimants(intents, rp)
            if not cl:
                out.append(st(ghost=ghost_add(ghost, bad='BAD-WORD: 0 header at %d with no claimant' % rp)))
            else:
                live = [c for c in cl if alive[c[0]]]
                if live and len(cl) == 1:
                    out.append(st(rp=rp + cl[0][1], holes=holes + ((rp, cl[0][1], cl[0][0], False),)))
                elif not live:
                    b = bury(cfg, words, tail, intents, alive, rp)
                    if b is not None:
                        out.append(st(words=b[0], intents=b[1]))
            did = did or bool(out)
        elif w[0] == 'W':
            if alive[w[2]]:
                out.append(st(rp=rp + w[1] + 1, holes=holes + ((rp, w[1] + 1, w[2], False),)))
            else:
                out.append(st(words=setw(words, rp, cfg.cap, ('S', w[1])), intents=clear_intents(intents, w[2], rp)))
            did = True
        elif w[0] == 'C' and not w[3]:
            size = w[1] + 1
            ok, eid = deliver_check(cfg, words, rp, w, prods, ghost)
            out.append(st(rp=rp + size, pend=pend + ((rp, size, eid),), ghost=ghost_add(ghost, deliver=(eid, ok))))
            did = True
        elif w[0] in ('C', 'S'):
            out.append(st(rp=rp + w[1] + 1))
            did = True
        else:
            out.append(st(ghost=ghost_add(ghost, bad='BAD-WORD: %r at %d' % (w, rp))))
            did = True
    # 3. release any pending event (any order): mark DONE, then move head
    for pi, (pp, ps, eid) in enumerate(pend):
        w = getw(words, pp, cfg.cap)
        if w == ZERO or w[0] != 'C':
            out.append(st(ghost=ghost_add(ghost, bad='BAD-WORD: released %r at %d' % (w, pp))))
            continue
        w2 = setw(words, pp, cfg.cap, ('C', w[1], w[2], True))
        holes2 = tuple(h for h in holes if h[0] != pp)
        pend2 = pend[:pi] + pend[pi + 1:]
        g = ghost_add(ghost, release=eid)
        end = advance(cfg, w2, head, rp)
        if end != head:
            out.append(st(words=w2, rel=end, holes=holes2, pend=pend2, cpc='rel2:%d' % end, ghost=g))
        else:
            out.append(st(words=w2, holes=holes2, pend=pend2, ghost=g))
        did = True
    # skipped space with nothing pending: released by the walk itself
    end = advance(cfg, words, head, rp)
    if end != head and not any(p[0] < end for p in pend):
        out.append(st(rel=end, cpc='rel2:%d' % end))
        did = True
    # 4. nothing to do: go to sleep
    if not did and not pend:
        out.append(st(cpc='sleep1'))
    return out


def final(w):
    return w != ZERO and w[0] in ('C', 'S')


def clear_intents(intents, slot, pos):
    it = intents[slot]
    return intents[:slot] + ((None if it is not None and it[0] == pos else it),) + intents[slot + 1:]


def ready(cfg, words, tail, rp, holes):
    if any(not h[3] and final(getw(words, h[0], cfg.cap)) for h in holes):
        return True
    return rp != tail and final(getw(words, rp, cfg.cap))


def advance(cfg, words, head, rp):
    p = head
    while p != rp:
        w = getw(words, p, cfg.cap)
        if w == ZERO or not (w[0] == 'S' or (w[0] == 'C' and w[3])):
            break
        p += w[1] + 1
    return p


def deliver_check(cfg, words, pos, w, prods, ghost):
    """Which event is at pos (the ghost knows who reserved it), and is it intact?"""
    for (rpos, slot, eid, content) in ghost[5]:
        if rpos == pos and slot == w[2]:
            return content_ok(words, pos, cfg.cap, content), eid
    return False, (w[2], -1 - pos)  # no put reserved this: a forged record


def bury(cfg, words, tail, intents, alive, pos):
    cl = claimants(intents, pos)
    if not cl or any(alive[i] for i, _ in cl):
        return None
    ends = sorted(pos + need for _, need in cl if pos + need <= tail)
    for e in ends:
        if is_boundary(words, intents, tail, e, cfg.cap):
            w2 = setw(words, pos, cfg.cap, ('S', e - pos - 1))
            intents2 = tuple(None if (it is not None and it[0] == pos) else it for it in intents)
            return w2, intents2
    return None


# ---------------------------------------------------------------- layout 1
def l1_producer(cfg, s, i):
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    pc, k, t, content, woke = prods[i]
    need = cfg.sizes[i]
    eid = (i, k)
    lap = lambda p: p // cfg.cap
    if not alive[i] or pc == 'done':
        return []
    if pc == 'start':
        if k == cfg.puts:
            return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('done', k, 0, (), woke)),
                     cons, ghost)]
        out = []
        for c in product(payload_domain(1, cfg.cap), need - 1):
            if tail + need - head > cfg.cap:
                out.append((words, tail, head, rel, sleeping, intents, alive,
                            with_prod(prods, i, ('start', k + 1, 0, (), woke)), cons, ghost_add(ghost, errored=eid)))
                break
            out.append((words, tail, head, rel, sleeping, intents, alive,
                        with_prod(prods, i, ('cas', k, tail, c, woke)), cons, ghost))
        return out
    if pc == 'cas':
        if cfg.single or tail == t:  # single: a plain load/store of tail, two threads can both "win"
            return [(words, t + need, head, rel, sleeping, intents, alive,
                     with_prod(prods, i, ('claim', k, t, content, woke)), cons,
                     ghost_add(ghost, resv=(t, i, eid, content)))]
        return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('start', k, 0, (), woke)),
                 cons, ghost)]
    if pc == 'claim':  # CAS(FREE(lap) -> BUSY)
        if getw(words, t, cfg.cap) == ('F', lap(t)):
            w2 = setw(words, t, cfg.cap, ('B', need - 1, i))
            return [(w2, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('copy0', k, t, content, woke)),
                     cons, ghost)]
        return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('start', k + 1, 0, (), woke)),
                 cons, ghost_add(ghost, errored=eid))]
    if pc.startswith('copy'):
        j = int(pc[4:])
        if j < len(content):
            return copy_word(cfg, s, i, j)
        if getw(words, t, cfg.cap) == ('B', need - 1, i):  # commit CAS(BUSY -> LIVE)
            w2 = setw(words, t, cfg.cap, ('L', need - 1, i))
            return [(w2, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('wake', k, t, content, False)),
                     cons, ghost_add(ghost, accepted=eid))]
        return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('start', k + 1, 0, (), woke)),
                 cons, ghost_add(ghost, errored=eid))]
    if pc == 'wake':  # xchg(sleeping, 0) first ...
        if sleeping:
            return [(words, tail, head, rel, 0, intents, alive, with_prod(prods, i, ('wakeop', k, t, content, False)),
                     cons, ghost)]
        return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('start', k + 1, 0, (), True)),
                 cons, ghost_add(ghost, woke=eid))]
    if pc == 'wakeop':  # ... then FUTEX_WAKE
        c_alive, rp, holes, pend, cpc, blocked = cons
        return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('start', k + 1, 0, (), True)),
                 (c_alive, rp, holes, pend, cpc, False), ghost_add(ghost, woke=eid))]
    raise AssertionError(pc)


def l1_consumer(cfg, s):
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    c_alive, rp, holes, pend, cpc, blocked = cons
    lap = lambda p: p // cfg.cap
    if not c_alive or blocked:
        return []

    def st(words=words, head=head, rel=rel, sleeping=sleeping, rp=rp, pend=pend, cpc='poll', blocked=False, ghost=ghost):
        return (words, tail, head, rel, sleeping, intents, alive, prods, (True, rp, holes, pend, cpc, blocked), ghost)

    if cpc == 'sleep1':
        return [st(sleeping=1, cpc='sleep2')]
    if cpc == 'sleep2':
        w = getw(words, rp, cfg.cap)
        if rp != tail and w[0] in ('L', 'K'):
            return [st(sleeping=0)]
        return [st(cpc='sleep3')]
    if cpc == 'sleep3':  # layout 1 also waited 10 ms at most while a record was in flight
        return [st(blocked=sleeping == 1 and rp == tail)]
    out = []
    if rp != tail:
        w = getw(words, rp, cfg.cap)
        if w[0] == 'L':
            ok, eid = deliver_check(cfg, words, rp, w, prods, ghost)
            out.append(st(rp=rp + w[1] + 1, pend=pend + ((rp, w[1] + 1, eid),), ghost=ghost_add(ghost, deliver=(eid, ok))))
        elif w[0] == 'K':
            out.append(st(rp=rp + w[1] + 1))
        elif w[0] == 'B':
            # dead owner (PID probe; in a namespace it says dead for the living) or recover_ms passed
            if not alive[w[2]] or cfg.namespace or True:  # the timer may fire at any time: a stall is longer
                w2 = setw(words, rp, cfg.cap, ('K', w[1]))
                out.append(st(words=w2))
        elif w == ('F', lap(rp)):
            # header-less past recover_ms: cover words with SKIP up to the first non-free word
            p = rp
            w2 = words
            while p < tail and getw(w2, p, cfg.cap) == ('F', lap(p)):
                w2 = setw(w2, p, cfg.cap, ('K', 0))
                p += 1
            out.append(st(words=w2))
        else:
            out.append(st(ghost=ghost_add(ghost, bad='BAD-WORD: %r at %d' % (w, rp))))
    if pend:  # release in order: refill with FREE(lap + 1), then head
        pp, ps, eid = pend[0]
        end = pp + ps
        w2 = words
        for p in range(head, end):
            w2 = setw(w2, p, cfg.cap, ('F', lap(p) + 1))
        out.append(st(words=w2, head=end, pend=pend[1:], ghost=ghost_add(ghost, release=eid)))
    elif head != rp:
        w2 = words
        for p in range(head, rp):
            w2 = setw(w2, p, cfg.cap, ('F', lap(p) + 1))
        out.append(st(words=w2, head=rp))
    if not out:
        out.append(st(cpc='sleep1'))
    return out


def deliver_check_l1(cfg, words, pos, w):
    raise AssertionError('unused')


# ---------------------------------------------------------------- faults
def kill_producer(cfg, s, i):
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    if not cfg.kills or not alive[i] or prods[i][0] in ('done',):
        return []
    return [(words, tail, head, rel, sleeping, intents, alive[:i] + (False,) + alive[i + 1:], prods, cons, ghost)]


def kill_consumer(cfg, s):
    """kill -9 of the consumer at any step (at most cfg.consumer_kills times
    in a run), then a new one opens the ring."""
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    restarts = sum(1 for r in ghost[6] if r == 'restart')
    if restarts >= cfg.consumer_kills or not cons[0]:
        return []
    ghost = ghost[:6] + (ghost[6] | {'restart'},) if restarts == 0 else ghost
    w2 = words
    if cfg.layout == 2 and rel != head:  # finish the interrupted release
        for p in range(head, rel):
            w2 = setw(w2, p, cfg.cap, ZERO)
        head = rel
    return [(w2, tail, head, head, sleeping, intents, alive, prods, (True, head, (), (), 'poll', False), ghost)]


# ---------------------------------------------------------------- checking
def successors(cfg, s):
    out = []
    prod = l2_producer if cfg.layout == 2 else l1_producer
    for i in range(cfg.nprod):
        out += prod(cfg, s, i)
        out += kill_producer(cfg, s, i)
    out += (l2_consumer if cfg.layout == 2 else l1_consumer)(cfg, s)
    out += kill_consumer(cfg, s)
    return out


def quiescent(cfg, s):
    """No process can move. A consumer asleep with an event of a put that
    returned 0 and completed its wake-up waiting is STUCK (a lost wake-up);
    otherwise its timeout fires (a successor). A consumer awake at the end
    must have delivered every accepted event (LOST)."""
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    acc, err, dlv, relset, bad, resv, woke = ghost
    delivered = {e for e, n in dlv}
    missing = sorted(e for e in acc if e not in delivered)
    if cons[0] and cons[5]:
        stuck = [e for e in missing if e in woke]
        if stuck:
            return 'STUCK: the consumer sleeps for good; accepted event(s) %s wait' % (stuck,), None
        c_alive, rp, holes, pend, cpc, blocked = cons
        return None, (words, tail, head, rel, 0, intents, alive, prods, (c_alive, rp, holes, pend, 'poll', False), ghost)
    if missing:
        return 'LOST: accepted event(s) %s never delivered' % (missing,), None
    return None, None


def check(cfg, limit, every=False):
    """Breadth-first over every reachable state. Returns (first violation,
    its trace, states, {kind: violation} when every=True)."""
    s0 = initial(cfg)
    seen = {s0: None}
    q = deque([s0])
    kinds = {}
    while q:
        s = q.popleft()
        bad = s[9][4]
        if bad is None and s[1] < s[2]:
            bad = 'BAD-POSITIONS: the tail went behind the head: every later put fails, the queue is dead'
        succ = successors(cfg, s) if bad is None else []
        if bad is None and not succ:
            bad, timeout = quiescent(cfg, s)
            if timeout is not None:
                succ = [timeout]
        if bad is not None:
            if not every:
                return bad, trace(seen, s), len(seen), {}
            kinds.setdefault(bad.split(':')[0], (bad, len(trace(seen, s))))
            continue
        for n in succ:
            if n not in seen:
                seen[n] = s
                q.append(n)
        if len(seen) > limit:
            return 'LIMIT: more than %d states' % limit, [], len(seen), kinds
    first = min(kinds.values(), key=lambda v: v[1])[0] if kinds else None
    return first, [], len(seen), kinds


def trace(seen, s):
    t = []
    while s is not None:
        t.append(s)
        s = seen[s]
    return list(reversed(t))


def describe(s):
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    return 'words=%s tail=%d head=%d sleeping=%d intents=%s alive=%s prods=%s cons=%s' % (
        list(words), tail, head, sleeping, list(intents), list(alive), [p[:3] for p in prods], cons[:3] + cons[4:])


CONFIGS = {
    # name: (cap, puts, sizes, kills, consumer_kills, single, namespace, claims)
    'two-producers': (4, 2, (2, 2), False, False, False, False, False),
    'kills': (4, 2, (2, 2), True, False, False, False, False),
    'mixed-sizes-kills': (5, 1, (2, 3), True, False, False, False, False),
    'consumer-restart': (4, 1, (2, 2), False, True, False, False, False),
    'abort': (4, 2, (2, 2), True, False, False, False, True),
    'laps': (3, 2, (2, 2), False, False, False, False, False),
    'single-producer': (4, 2, (2, 2), False, False, True, False, False),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--layout', type=int, default=2, choices=(1, 2))
    ap.add_argument('--config', action='append', help='one of: ' + ', '.join(CONFIGS))
    ap.add_argument('--limit', type=int, default=3000000)
    ap.add_argument('--expect-violation', action='store_true', help='pass only if every config finds one')
    ap.add_argument('--all', action='store_true', help='explore on past violations; list one of each kind')
    a = ap.parse_args()
    names = a.config or list(CONFIGS)
    failed = 0
    for name in names:
        if name not in CONFIGS:
            print('ringmodel: unknown config %s (choose from %s)' % (name, ', '.join(CONFIGS)), file=sys.stderr)
            return 2
        cfg = Config(a.layout, *CONFIGS[name])
        bad, tr, n, kinds = check(cfg, a.limit, a.all)
        if bad and bad.startswith('LIMIT'):
            print('ringmodel: layout %d %-18s %s' % (a.layout, name, bad))
            failed += 1
            continue
        verdict = 'violation' if bad else 'ok'
        print('ringmodel: layout %d %-18s %8d states  %s%s' % (a.layout, name, n, verdict, ': ' + bad if bad else ''))
        for kind, (text, depth) in sorted(kinds.items()):
            print('    %-22s after %2d steps: %s' % (kind, depth, text))
        if bad and not a.expect_violation:
            for s in tr[-12:]:
                print('    ' + describe(s))
        if bool(bad) != a.expect_violation:
            failed += 1
    print('ringmodel: %d passed, %d failed' % (len(names) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""ringmodel — an exhaustive, explicit-state model of the ring protocol.

Checks every interleaving of small configurations: producers that put
(intent, tail CAS, payload, commit, wake-up), claim and abort, get killed
at any step or stall for any time (a stall is simply not being scheduled:
layout 2 has no timer), a consumer that polls, steps past holes, recovers
dead producers' reservations, releases in any order, sleeps and wakes, and
is killed and restarted at any step. Payload words are chosen adversarially
from the control words of the protocol (zero, headers, free words).

Pins (the `pins*` configurations): head goes past a stalled record by
pinning it (the entry published before head moves); producers bound their
reservation by the first image of a pinned record and go around it (SKIP
padding up to it, then the tail moved past it); the consumer steps over
images, leaves live pinned bytes out of its zero fill, zeroes the record
and retires the pin (until = head + capacity) once it is final, frees the
entry when head is past the last avoided image, and a restarted consumer
reloads the pin. `pins-single` is a single-producer ring: its producers are
one thread's claims (one reservation at a time, a claim left open while the
next put reserves), its tail moved by a checked plain store. `--inject
old-go-around` puts back the defect fixed in f789e40 (a put that went around
an image went on from its old tail position), and the model finds it.

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
tests/test_stall.c, test_put_drain.c and test_corrupt.c); one pin entry
(RP_PINS is 8), read and written in one step (the seqlock of layout.h is
not modelled); a producer reads head and the pin entry fresh for each
reservation (the real one may use an older bound, which is only smaller:
tests/test_pin.c); the consumer's
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
    def __init__(self, layout, cap, puts, sizes, kills, consumer_kills, single, namespace, claims, pins=False,
                 inject=None):
        self.layout = layout
        self.cap = cap              # ring capacity in words
        self.puts = puts            # puts per producer (a number, or one per producer)
        self.sizes = sizes          # record size (words) per producer
        self.kills = kills          # producers may be killed
        self.consumer_kills = consumer_kills
        self.single = single        # single-producer ring, two threads of one handle (layout 1 defect 6)
        self.namespace = namespace  # layout 1: the consumer's PID probe says "dead" for live producers
        self.claims = claims        # producer 0 aborts instead of committing its last put
        self.pins = pins            # layout 2: head goes past a stalled record by pinning it (one entry)
        self.inject = inject        # a known defect put back, to show the model finds it (--inject)
        self.nprod = len(sizes)

    def puts_of(self, i):
        return self.puts[i] if isinstance(self.puts, tuple) else self.puts


# ---------------------------------------------------------------- state
# A state is a tuple:
#  (words, tail, head, releasing, sleeping, intents, alive, prods, cons, ghost)
# prods[i] = (pc, k, t, content, woke)   pc: see step_producer
# cons = (alive, read_pos, holes, pending, cpc, blocked)
#   holes: tuple of (pos, size, slot, delivered, pinned); pending: tuple of (pos, size, eid)
# With cfg.pins, words has one more element after the cap data words: the pin
# entry, None or (pos, size, until) (shared memory the consumer writes; its
# seqlock is one step here), until LIVE while the record is not final.
# ghost = (accepted, errored, delivered, released, bad)
#   accepted/errored: frozenset of eid; delivered: tuple of (eid, count); released: frozenset


def initial(cfg):
    words = tuple(ZERO if cfg.layout == 2 else ('F', 0) for _ in range(cfg.cap)) + ((None,) if cfg.pins else ())
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


LIVE = 'live'


def get_pin(cfg, words):
    return words[cfg.cap] if cfg.pins else None


def set_pin(cfg, words, pin):
    return words[:cfg.cap] + (pin,)


def pin_image(pin, cap, t):
    """rp__pin_image: the first image of the pinned record that ends after t
    and is still avoided, or None."""
    if pin is None:
        return None
    pos, size, until = pin
    d = t - pos
    img = pos + (1 if d < size else (d - size) // cap + 1) * cap
    return img if until == LIVE or img < until else None


def image_at(cfg, words, p):
    """rp__image_at: the size of an avoided image that starts at p, or 0."""
    pin = get_pin(cfg, words)
    return pin[1] if pin is not None and pin_image(pin, cfg.cap, p - 1) == p else 0


def in_live_pin(cfg, words, p):
    pin = get_pin(cfg, words)
    return pin is not None and pin[2] == LIVE and (p - pin[0]) % cfg.cap < pin[1]


def zero_free(cfg, words, frm, to):
    """Zero [frm, to) except the bytes of a live pinned record (zero_free)."""
    for p in range(frm, to):
        if not in_live_pin(cfg, words, p):
            words = setw(words, p, cfg.cap, ZERO)
    return words


def pins_gc(cfg, words, head):
    """Free a retiring entry once head is past its last avoided image."""
    pin = get_pin(cfg, words)
    if pin is None or pin[2] == LIVE:
        return words
    pos, size, until = pin
    last = pos if until - pos <= cfg.cap else pos + (until - pos - 1) // cfg.cap * cfg.cap
    return set_pin(cfg, words, None) if head >= last + size else words


def pin_finish(cfg, words, head, hole):
    """The pinned record is final: zero its bytes, then retire the pin
    (until = head + capacity), then collect it."""
    for p in range(hole[0], hole[0] + hole[1]):
        words = setw(words, p, cfg.cap, ZERO)
    words = set_pin(cfg, words, (hole[0], hole[1], head + cfg.cap))
    return pins_gc(cfg, words, head)


def hole_at(holes, pos):
    """rp__hole_at: the index of the hole at pos, or None."""
    return next((j for j, h in enumerate(holes) if h[0] == pos), None)


def drop_hole(cfg, words, head, holes, hi):
    """Forget hole hi; a pinned one's pin finishes (rp__hole_drop)."""
    if holes[hi][4]:
        words = pin_finish(cfg, words, head, holes[hi])
    return words, holes[:hi] + holes[hi + 1:]


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
        if k == cfg.puts_of(i):
            return [(words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('done', k, 0, (), woke)),
                     cons, ghost)]
        # choose the event's payload (adversarial), read the tail, head and pins
        for c in product(payload_domain(2, cfg.cap), need - 1):
            nxt = reserve_from(cfg, s, i, tail, c)
            out.append(nxt)
            if nxt[7][i][0] == 'start':  # full: one outcome whatever the payload
                break
        return out
    if pc == 'intent':
        intents2 = intents[:i] + ((t, need),) + intents[i + 1:]
        return [(words, tail, head, rel, sleeping, intents2, alive, with_prod(prods, i, ('cas', k, t, content, woke)),
                 cons, ghost)]
    if pc == 'cas':
        if tail_moves(cfg, tail, t):
            return [(words, t + need, head, rel, sleeping, intents, alive,
                     with_prod(prods, i, ('claimhdr', k, t, content, woke)), cons,
                     ghost_add(ghost, resv=(t, i, eid, content)))]
        # lost the CAS (or a stale position): reread, space check again; the
        # stale intent stays until rewritten
        return [reserve_from(cfg, s, i, tail, content)]
    if pc.startswith('ga'):
        return go_around(cfg, s, i)
    if pc == 'claimhdr':  # the CLAIM header, before any payload word
        w2 = setw(words, t, cfg.cap, ('W', need - 1, i))
        return [(w2, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('copy0', k, t, content, woke)),
                 cons, ghost)]
    if pc.startswith('copy'):
        j = int(pc[4:])
        if j < len(content):
            return copy_word(cfg, s, i, j)
        abort = cfg.claims and i == 0 and k == cfg.puts_of(i) - 1
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


def tail_moves(cfg, tail, t):
    """rp__tail_move from t: a CAS for many producers; the sole producer's
    plain store after checking that the tail is still t (f528d6c), a check
    that --inject old-go-around drops."""
    return tail == t or (cfg.single and cfg.inject == 'old-go-around')


def reserve_from(cfg, s, i, t, content):
    """The slow path of a reservation from tail position t (rp__refresh_head):
    head and the pin entry are read now; the bound is head + capacity or the
    first image that ends after t. Room: write the intent. An image in the
    way with room past it: go around it. Otherwise full (the intent cleared)."""
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    pc, k, _, _, woke = prods[i]
    need = cfg.sizes[i]
    pin = get_pin(cfg, words)
    bound = head + cfg.cap
    img = pin_image(pin, cfg.cap, t)
    if img is not None and img < t:
        return (words, tail, head, rel, sleeping, intents, alive, prods, cons,
                ghost_add(ghost, bad='BAD-WORD: the tail %d is inside an image at %d' % (t, img)))
    if img is not None and img < bound:
        bound = img
    if need <= bound - t:
        return (words, tail, head, rel, sleeping, intents, alive, with_prod(prods, i, ('intent', k, t, content, woke)),
                cons, ghost)
    if img is not None and bound == img and pin[1] <= head + cfg.cap - img and need <= head + cfg.cap - img - pin[1]:
        step = 'gam' if t == img else 'gai'
        return (words, tail, head, rel, sleeping, intents, alive,
                with_prod(prods, i, ('%s:%d:%d' % (step, img, pin[1]), k, t, content, woke)), cons, ghost)
    intents2 = intents[:i] + (None,) + intents[i + 1:]
    return (words, tail, head, rel, sleeping, intents2, alive, with_prod(prods, i, ('start', k + 1, 0, (), woke)),
            cons, ghost_add(ghost, errored=(i, k)))


def go_around(cfg, s, i):
    """rp__go_around, one shared-memory access per step. From the image's
    start (gam): move the tail past it. From below it: intent (gai), tail to
    the image (gac), SKIP header over [t, img) (gas), intent cleared (gaz).
    The put then goes on from the tail as this left it (--inject
    old-go-around: from the position it started from, the defect fixed in
    f789e40, with the sole producer's tail check of f528d6c dropped too;
    stale-go-around: the same position, the check kept)."""
    words, tail, head, rel, sleeping, intents, alive, prods, cons, ghost = s
    pc, k, t, content, woke = prods[i]
    step, img, isz = pc.split(':')
    img, isz = int(img), int(isz)
    old = cfg.inject in ('old-go-around', 'stale-go-around')

    def then(s2, t2):  # the put goes on from t2
        return [reserve_from(cfg, s2, i, t if old else t2, content)]

    if step == 'gam':
        if tail_moves(cfg, tail, t):
            return then((words, img + isz, head, rel, sleeping, intents, alive, prods, cons, ghost), img + isz)
        return [reserve_from(cfg, s, i, tail, content)]
    if step == 'gai':
        intents2 = intents[:i] + ((t, img - t),) + intents[i + 1:]
        return [(words, tail, head, rel, sleeping, intents2, alive,
                 with_prod(prods, i, ('gac:%d:%d' % (img, isz), k, t, content, woke)), cons, ghost)]
    if step == 'gac':
        if tail_moves(cfg, tail, t):
            return [(words, img, head, rel, sleeping, intents, alive,
                     with_prod(prods, i, ('gas:%d:%d' % (img, isz), k, t, content, woke)), cons, ghost)]
        return [reserve_from(cfg, s, i, tail, content)]
    if step == 'gas':
        w2 = setw(words, t, cfg.cap, ('S', img - t - 1))
        return [(w2, tail, head, rel, sleeping, intents, alive,
                 with_prod(prods, i, ('gaz:%d:%d' % (img, isz), k, t, content, woke)), cons, ghost)]
    intents2 = intents[:i] + (None,) + intents[i + 1:]
    return then((words, tail, head, rel, sleeping, intents2, alive, prods, cons, ghost), img)


def product(dom, n):
    if n == 0:
        yield ()
        return
    for x in dom:
        for rest in product(dom, n - 1):
            yield (x,) + rest


def claimants(intents, pos):
    return [(i, it[1]) for i, it in enumerate(intents) if it is not None and it[0] == pos]


def is_boundary(cfg, words, intents, tail, head, e):
    return (e == tail or e <= head or getw(words, e, cfg.cap) != ZERO or image_at(cfg, words, e) or
            any(it is not None and it[0] == e for it in intents))


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

    if cpc.startswith('rel2:'):  # release step 2: zero [head, end) but live pinned bytes, then head = end
        end = int(cpc[5:])
        w2 = pins_gc(cfg, zero_free(cfg, words, head, end), end)
        holes2 = tuple(h for h in holes if h[0] >= end or h[4])
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
    for hi, (hp, hs, hslot, hdel, hpin) in enumerate(holes):
        if hdel:
            continue
        w = getw(words, hp, cfg.cap)
        if w != ZERO and w[0] == 'C' and not w[3]:
            ok, eid = deliver_check(cfg, words, hp, w, prods, ghost)
            holes2 = holes[:hi] + ((hp, hs, hslot, True, hpin),) + holes[hi + 1:]
            out.append(st(holes=holes2, pend=pend + ((hp, hs, eid),), ghost=ghost_add(ghost, deliver=(eid, ok))))
            did = True
        elif w != ZERO and (w[0] == 'S' or w[0] == 'C'):  # aborted, recovered, or released before a restart
            w2, holes2 = drop_hole(cfg, words, head, holes, hi)
            out.append(st(words=w2, holes=holes2))
            did = True
        elif w != ZERO and w[0] == 'W':
            if not alive[w[2]]:
                w2, holes2 = drop_hole(cfg, setw(words, hp, cfg.cap, ('S', w[1])), head, holes, hi)
                out.append(st(words=w2, intents=clear_intents(intents, w[2], hp), holes=holes2))
                did = True
        elif w == ZERO:
            b = bury(cfg, words, tail, head, intents, alive, hp)
            if b is not None:
                w2, intents2 = b
                w2, holes2 = drop_hole(cfg, w2, head, holes, hi)
                out.append(st(words=w2, intents=intents2, holes=holes2))
                did = True
            elif hpin and not claimants(intents, hp):  # a pinned record nobody claims was zeroed by us
                w2, holes2 = drop_hole(cfg, words, head, holes, hi)
                out.append(st(words=w2, holes=holes2))
                did = True
    # 2. the walk at read_pos
    isz = image_at(cfg, words, rp) if rp != tail else 0
    if isz:  # the tail went around a pinned record here
        out.append(st(rp=rp + isz))
        did = True
    elif rp != tail:
        w = getw(words, rp, cfg.cap)
        if w == ZERO:
            cl = claimants(intents, rp)
            if not cl:
                out.append(st(ghost=ghost_add(ghost, bad='BAD-WORD: 0 header at %d with no claimant' % rp)))
            else:
                live = [c for c in cl if alive[c[0]]]
                if live and len(cl) == 1:
                    out.append(st(rp=rp + cl[0][1], holes=holes + ((rp, cl[0][1], cl[0][0], False, False),)))
                elif not live:
                    b = bury(cfg, words, tail, head, intents, alive, rp)
                    if b is not None:
                        out.append(st(words=b[0], intents=b[1]))
            did = did or bool(out)
        elif w[0] == 'W':
            if alive[w[2]]:
                out.append(st(rp=rp + w[1] + 1, holes=holes + ((rp, w[1] + 1, w[2], False, False),)))
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
        hi = hole_at(holes, pp)
        w2, holes2 = drop_hole(cfg, w2, head, holes, hi) if hi is not None else (w2, holes)
        pend2 = pend[:pi] + pend[pi + 1:]
        g = ghost_add(ghost, release=eid)
        end, w2, holes2 = advance(cfg, w2, holes2, head, rp)
        if end != head:
            out.append(st(words=w2, rel=end, holes=holes2, pend=pend2, cpc='rel2:%d' % end, ghost=g))
        else:
            out.append(st(words=w2, holes=holes2, pend=pend2, ghost=g))
        did = True
    # skipped space with nothing pending: released by the walk itself
    end, w2, holes2 = advance(cfg, words, holes, head, rp)
    if end != head and not any(p[0] < end for p in pend):
        out.append(st(words=w2, holes=holes2, rel=end, cpc='rel2:%d' % end))
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
    return rp != tail and (image_at(cfg, words, rp) or final(getw(words, rp, cfg.cap)))


def advance(cfg, words, holes, head, rp):
    """advance_head: over released or skipped records and images, and over
    a stalled hole by pinning it (the entry published before head moves,
    rule 6) while the entry is free. Returns (end, words, holes)."""
    p = head
    while p != rp:
        isz = image_at(cfg, words, p)
        if isz:
            p += isz
            continue
        w = getw(words, p, cfg.cap)
        hi = hole_at(holes, p)
        h = holes[hi] if hi is not None else None
        if cfg.pins and not final(w) and h and not h[3] and not h[4] and get_pin(cfg, words) is None:
            words = set_pin(cfg, words, (p, h[1], LIVE))
            holes = holes[:hi] + ((h[0], h[1], h[2], h[3], True),) + holes[hi + 1:]
            p += h[1]
            continue
        if w == ZERO or not (w[0] == 'S' or (w[0] == 'C' and w[3])):
            break
        p += w[1] + 1
    return p, words, holes


def deliver_check(cfg, words, pos, w, prods, ghost):
    """Which event is at pos (the ghost knows who reserved it), and is it intact?"""
    for (rpos, slot, eid, content) in ghost[5]:
        if rpos == pos and slot == w[2]:
            return content_ok(words, pos, cfg.cap, content), eid
    return False, (w[2], -1 - pos)  # no put reserved this: a forged record


def bury(cfg, words, tail, head, intents, alive, pos):
    cl = claimants(intents, pos)
    if not cl or any(alive[i] for i, _ in cl):
        return None
    ends = sorted(pos + need for _, need in cl if pos + need <= tail)
    for e in ends:
        if is_boundary(cfg, words, intents, tail, head, e):
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
        if k == cfg.puts_of(i):
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
    w2, holes = words, ()
    if cfg.layout == 2:
        # rp__pins_load: a live pin behind the head being released is a
        # pinned hole again; an entry not behind it is freed (the walk finds
        # the record again); then the interrupted release is finished
        pin = get_pin(cfg, w2)
        if pin is not None and pin[0] >= rel:
            w2 = set_pin(cfg, w2, None)
        elif pin is not None and pin[2] == LIVE:
            holes = ((pin[0], pin[1], None, False, True),)
            ghost = ghost[:6] + (ghost[6] | {'reloaded-pin'},)
        w2 = pins_gc(cfg, zero_free(cfg, w2, head, rel), rel)
        head = rel
    return [(w2, tail, head, head, sleeping, intents, alive, prods, (True, head, holes, (), 'poll', False), ghost)]


# ---------------------------------------------------------------- checking
RESERVING = ('intent', 'cas', 'ga')


def successors(cfg, s):
    out = []
    prod = l2_producer if cfg.layout == 2 else l1_producer
    for i in range(cfg.nprod):
        # a single-producer ring (layout 2): the producers are one thread's
        # claims, so one reservation at a time (a claim may stay open while
        # the next put reserves: RP_SLOT_INTENTS)
        if (cfg.layout == 2 and cfg.single and s[7][i][0] == 'start' and
                any(p[0].startswith(RESERVING) for j, p in enumerate(s[7]) if j != i)):
            continue
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
    its trace, states, {kind: violation} when every=True, {what: states}:
    how many states had a live pin, a retiring one, a producer going around,
    a live pin reloaded by a restarted consumer)."""
    s0 = initial(cfg)
    seen = {s0: None}
    q = deque([s0])
    kinds = {}
    reached = dict.fromkeys(('pinned', 'retiring', 'going-around') +
                            (('pin-reloaded',) if cfg.consumer_kills else ()), 0)
    while q:
        s = q.popleft()
        if cfg.pins:
            pin = get_pin(cfg, s[0])
            reached['pinned'] += pin is not None and pin[2] == LIVE
            reached['retiring'] += pin is not None and pin[2] != LIVE
            reached['going-around'] += any(p[0].startswith('ga') for p in s[7])
            if cfg.consumer_kills:
                reached['pin-reloaded'] += 'reloaded-pin' in s[9][6]
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
                return bad, trace(seen, s), len(seen), {}, reached
            kinds.setdefault(bad.split(':')[0], (bad, len(trace(seen, s))))
            continue
        for n in succ:
            if n not in seen:
                seen[n] = s
                q.append(n)
        if len(seen) > limit:
            return 'LIMIT: more than %d states' % limit, [], len(seen), kinds, reached
    first = min(kinds.values(), key=lambda v: v[1])[0] if kinds else None
    return first, [], len(seen), kinds, reached


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
    # name: (cap, puts, sizes, kills, consumer_kills, single, namespace, claims[, pins])
    'two-producers': (4, 2, (2, 2), False, False, False, False, False),
    'kills': (4, 2, (2, 2), True, False, False, False, False),
    'mixed-sizes-kills': (5, 1, (2, 3), True, False, False, False, False),
    'consumer-restart': (4, 1, (2, 2), False, True, False, False, False),
    'abort': (4, 2, (2, 2), True, False, False, False, True),
    'laps': (3, 2, (2, 2), False, False, False, False, False),
    'single-producer': (4, 2, (2, 2), False, False, True, False, False),
    # pins: a stalled record head goes past, its images gone around
    'pins': (4, 2, (2, 2), False, False, False, False, False, True),
    'pins-kills': (4, (1, 2), (2, 2), True, False, False, False, False, True),
    'pins-restart': (4, (1, 2), (2, 2), False, True, False, False, False, True),
    'pins-abort': (4, 2, (2, 2), False, False, False, False, True, True),
    'pins-mixed': (5, (1, 2), (3, 2), False, False, False, False, False, True),
    'pins-single': (5, (1, 2), (3, 2), False, False, True, False, False, True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--layout', type=int, default=2, choices=(1, 2))
    ap.add_argument('--config', action='append', help='one of: ' + ', '.join(CONFIGS))
    ap.add_argument('--limit', type=int, default=3000000)
    ap.add_argument('--expect-violation', action='store_true', help='pass only if every config finds one')
    ap.add_argument('--all', action='store_true', help='explore on past violations; list one of each kind')
    ap.add_argument('--inject', choices=('old-go-around', 'stale-go-around'),
                    help='put a fixed defect back (layout 2): old-go-around, the sole producer going on from its '
                         'stale tail after going around an image (f789e40) without the tail check of f528d6c; '
                         'stale-go-around, the same with the check kept')
    a = ap.parse_args()
    names = a.config or [n for n, c in CONFIGS.items() if a.layout == 2 or not Config(1, *c).pins]
    failed = 0
    for name in names:
        if name not in CONFIGS:
            print('ringmodel: unknown config %s (choose from %s)' % (name, ', '.join(CONFIGS)), file=sys.stderr)
            return 2
        cfg = Config(a.layout, *CONFIGS[name], inject=a.inject)
        if cfg.pins and a.layout != 2:
            print('ringmodel: %s needs --layout 2 (layout 1 had no pins)' % name, file=sys.stderr)
            return 2
        bad, tr, n, kinds, reached = check(cfg, a.limit, a.all)
        if bad and bad.startswith('LIMIT'):
            print('ringmodel: layout %d %-18s %s' % (a.layout, name, bad))
            failed += 1
            continue
        verdict = 'violation' if bad else 'ok'
        print('ringmodel: layout %d %-18s %8d states  %s%s' % (a.layout, name, n, verdict, ': ' + bad if bad else ''))
        if cfg.pins:
            print('    states with ' + ', '.join('%s %d' % kv for kv in reached.items()))
            if not a.expect_violation and not bad and not all(reached.values()):
                print('    FAILED: the run never reached every pin path; it proves nothing about them')
                failed += 1
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

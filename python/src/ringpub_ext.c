/*
 * ringpub_ext.c — the `ringpub._ringpub` CPython extension: the producer
 * (include/ringpub.h, header-only) behind a `Queue` type, so a put from
 * Python is one C call with no ctypes in between. Written against the
 * limited API of Python 3.8 (one abi3 wheel serves every later version).
 *
 * Queue(name, directory=None, capacity=0, max_event=0, gid=-1, mode=0,
 *       populate=False, create=True, serializer=None)
 *   put(event)      serializer(event) (skipped for bytes when serializer is
 *                   the registered pass-through), then one rp_queue_put();
 *                   str is sent as UTF-8. Raises the classes given to
 *                   _configure(): too large, full, other errors.
 *   close()         idempotent; every other use after it raises QueueClosed.
 *   max_event, closed, serialize_event (read/write)
 * _configure(error, too_large, full, closed, passthrough) — set once by
 * ringpub/__init__.py (the classes are baseplate's when it is installed).
 */
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x03080000
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <ringpub.h>

#include <string.h>

#define BASEPLATE_MAX_EVENT 102400 /* baseplate.lib.events.MAX_EVENT_SIZE */

typedef struct {
    PyObject_HEAD
    rp_queue *q;
    size_t max_event;
    PyObject *serializer; /* NULL: events must already be bytes or str */
} QueueObject;

static PyObject *Error, *TooLarge, *Full, *Closed, *Passthrough;

/* *slot = v (a new reference taken; None or NULL: NULL), the old one dropped. */
static void set_ref(PyObject **slot, PyObject *v)
{
    PyObject *old = *slot;
    if (v == Py_None)
        v = NULL;
    Py_XINCREF(v);
    *slot = v;
    Py_XDECREF(old);
}

/* Raise cls(*args) built from fmt (Py_BuildValue), with .code = rc when rc. */
static void raise_new(PyObject *cls, int rc, const char *fmt, const void *arg)
{
    PyObject *e = fmt ? PyObject_CallFunction(cls, fmt, arg) : PyObject_CallObject(cls, NULL);
    if (!e)
        return;
    if (rc) {
        PyObject *code = PyLong_FromLong(rc);
        if (code)
            PyObject_SetAttrString(e, "code", code);
        Py_XDECREF(code);
    }
    PyErr_SetObject(cls, e);
    Py_DECREF(e);
}

static int closed_error(void)
{
    PyErr_SetString(Closed ? Closed : PyExc_ValueError, "the event queue is closed");
    return -1;
}

static int Queue_init(QueueObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "name", "directory", "capacity", "max_event", "gid", "mode",
                              "populate", "create", "serializer", NULL };
    const char *name, *dir = NULL;
    unsigned long long capacity = 0;
    unsigned int max_event = 0, mode = 0;
    long long gid = -1;
    int populate = 0, create = 1;
    PyObject *serializer = Py_None;
    rp_queue_opts o;
    char why[300];
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zKILIppO", kwlist, &name, &dir, &capacity, &max_event, &gid,
                                     &mode, &populate, &create, &serializer))
        return -1;
    if (self->q) {
        PyErr_SetString(PyExc_RuntimeError, "Queue.__init__ called twice");
        return -1;
    }
    memset(&o, 0, sizeof o);
    o.dir = dir;
    o.capacity = capacity;
    o.max_event = max_event;
    o.mode = mode;
    o.flags = (populate ? 0 : RP_OPT_NO_POPULATE) | (create ? 0 : RP_OPT_NO_CREATE);
    if (gid >= 0) {
        o.flags |= RP_OPT_GROUP;
        o.gid = (uint32_t)gid;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS /* creating allocates and may pre-fault megabytes */
    rc = rp_queue_open_why(&self->q, name, &o, why, sizeof why);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        self->q = NULL;
        raise_new(Error ? Error : PyExc_OSError, rc, "s", why);
        return -1;
    }
    self->max_event = rp_queue_max_event(self->q);
    if (self->max_event > BASEPLATE_MAX_EVENT)
        self->max_event = BASEPLATE_MAX_EVENT;
    set_ref(&self->serializer, serializer);
    return 0;
}

static void Queue_dealloc(QueueObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    rp_queue_close(self->q);
    self->q = NULL;
    Py_CLEAR(self->serializer);
    freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    f(self);
    Py_DECREF(tp);
}

static PyObject *too_large(Py_ssize_t n)
{
    PyObject *size = PyLong_FromSsize_t(n);
    if (size)
        raise_new(TooLarge, 0, "(O)", size);
    Py_XDECREF(size);
    return NULL;
}

/* put(event): serialize, check the size, copy into the ring. */
static PyObject *Queue_put(QueueObject *self, PyObject *event)
{
    PyObject *data = event, *owned = NULL;
    char *p;
    Py_ssize_t n;
    int rc;
    if (!self->q)
        return closed_error(), NULL;
    if (self->serializer && !(self->serializer == Passthrough && PyBytes_CheckExact(event))) {
        if (!(data = owned = PyObject_CallFunctionObjArgs(self->serializer, event, NULL)))
            return NULL;
    }
    if (PyUnicode_Check(data)) { /* as baseplate: a str is sent as UTF-8 */
        PyObject *b = PyUnicode_AsUTF8String(data);
        Py_XDECREF(owned);
        if (!(data = owned = b))
            return NULL;
    }
    if (PyBytes_AsStringAndSize(data, &p, &n) != 0) {
        Py_XDECREF(owned);
        return NULL;
    }
    if ((size_t)n > self->max_event) {
        Py_XDECREF(owned);
        return too_large(n);
    }
    rc = rp_queue_put(self->q, p, (size_t)n);
    Py_XDECREF(owned);
    if (rc == 0)
        Py_RETURN_NONE;
    if (rc == RP_EFULL)
        return raise_new(Full, 0, NULL, NULL), NULL;
    if (rc == RP_ETOOBIG)
        return too_large(n);
    return raise_new(Error, rc, "s", rp_strerror(rc)), NULL;
}

static PyObject *Queue_close(QueueObject *self, PyObject *unused)
{
    (void)unused;
    rp_queue_close(self->q);
    self->q = NULL;
    Py_RETURN_NONE;
}

static PyObject *Queue_get_max_event(QueueObject *self, void *c)
{
    (void)c;
    if (!self->q)
        return closed_error(), NULL;
    return PyLong_FromSize_t(self->max_event);
}

static PyObject *Queue_get_closed(QueueObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->q == NULL);
}

static PyObject *Queue_get_serializer(QueueObject *self, void *c)
{
    (void)c;
    PyObject *s = self->serializer ? self->serializer : Py_None;
    Py_INCREF(s);
    return s;
}

static int Queue_set_serializer(QueueObject *self, PyObject *v, void *c)
{
    (void)c;
    if (v && v != Py_None && !PyCallable_Check(v)) {
        PyErr_SetString(PyExc_TypeError, "serialize_event must be callable");
        return -1;
    }
    set_ref(&self->serializer, v);
    return 0;
}

static PyMethodDef Queue_methods[] = {
    { "put", (PyCFunction)Queue_put, METH_O,
      "put(event): serialize and copy one event into the ring; never blocks." },
    { "close", (PyCFunction)Queue_close, METH_NOARGS, "close(): unmap the ring (idempotent)." },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef Queue_getset[] = {
    { "max_event", (getter)Queue_get_max_event, NULL, "largest event in bytes", NULL },
    { "closed", (getter)Queue_get_closed, NULL, "True after close()", NULL },
    { "serialize_event", (getter)Queue_get_serializer, (setter)Queue_set_serializer,
      "the callable that turns an event into bytes", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot Queue_slots[] = {
    { Py_tp_doc, (void *)"A ringpub queue: a lock-free shared-memory ring one daemon drains." },
    { Py_tp_init, (void *)Queue_init },
    { Py_tp_dealloc, (void *)Queue_dealloc },
    { Py_tp_methods, Queue_methods },
    { Py_tp_getset, Queue_getset },
    { Py_tp_new, (void *)PyType_GenericNew },
    { 0, NULL },
};

static PyType_Spec Queue_spec = {
    "ringpub._ringpub.Queue", sizeof(QueueObject), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, Queue_slots,
};

static PyObject *configure(PyObject *m, PyObject *args)
{
    PyObject *e, *t, *f, *c, *p;
    (void)m;
    if (!PyArg_ParseTuple(args, "OOOOO", &e, &t, &f, &c, &p))
        return NULL;
    set_ref(&Error, e);
    set_ref(&TooLarge, t);
    set_ref(&Full, f);
    set_ref(&Closed, c);
    set_ref(&Passthrough, p);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    { "_configure", configure, METH_VARARGS, "set the exception classes and the pass-through serializer" },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ringpub", "ringpub's producer as a CPython extension.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__ringpub(void)
{
    PyObject *m = PyModule_Create(&module), *t;
    if (!m)
        return NULL;
    if (!(t = PyType_FromSpec(&Queue_spec)) || PyModule_AddObject(m, "Queue", t) != 0) {
        Py_XDECREF(t);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "DEFAULT_CAPACITY", (long)RP_DEFAULT_CAPACITY);
    PyModule_AddIntConstant(m, "MAX_EVENT_SIZE", BASEPLATE_MAX_EVENT);
    return m;
}

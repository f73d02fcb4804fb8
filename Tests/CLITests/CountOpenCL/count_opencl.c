// An outside counter of what a process asks of OpenCL, for tests that check `--trace`: preloaded
// (LD_PRELOAD) in front of libOpenCL, it counts kernel launches, blocking and non-blocking reads,
// writes and clFinish calls, and at exit writes them to $COUNT_OPENCL_OUT as one JSON object.
// It sees the calls themselves, so it counts what Dive's own trace might miss. `launches_before_read`
// lists the launches made before each blocking read (the first 4096), which marks where each
// epoch ends: a training epoch's one host read is its loss.
//
//   cc -shared -fPIC -o count_opencl.so count_opencl.c -ldl
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_long launches, blockingReads, reads, writes, finishes;
#define MARKS 4096
static long marks[MARKS];

static void *next(const char *name) { return dlsym(RTLD_NEXT, name); }

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset, const size_t *global,
                              const size_t *local, cl_uint n, const cl_event *wait, cl_event *event) {
    static cl_int (*real)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint,
                          const cl_event *, cl_event *);
    if (!real) real = next("clEnqueueNDRangeKernel");
    atomic_fetch_add(&launches, 1);
    return real(q, k, dims, offset, global, local, n, wait, event);
}

cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset, size_t size, void *p, cl_uint n,
                           const cl_event *wait, cl_event *event) {
    static cl_int (*real)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint, const cl_event *, cl_event *);
    if (!real) real = next("clEnqueueReadBuffer");
    if (blocking) {
        long i = atomic_fetch_add(&blockingReads, 1);
        if (i < MARKS) marks[i] = atomic_load(&launches);
    } else {
        atomic_fetch_add(&reads, 1);
    }
    return real(q, m, blocking, offset, size, p, n, wait, event);
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset, size_t size, const void *p, cl_uint n,
                            const cl_event *wait, cl_event *event) {
    static cl_int (*real)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint, const cl_event *, cl_event *);
    if (!real) real = next("clEnqueueWriteBuffer");
    atomic_fetch_add(&writes, 1);
    return real(q, m, blocking, offset, size, p, n, wait, event);
}

cl_int clFinish(cl_command_queue q) {
    static cl_int (*real)(cl_command_queue);
    if (!real) real = next("clFinish");
    atomic_fetch_add(&finishes, 1);
    return real(q);
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("COUNT_OPENCL_OUT");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f) return;
    long n = atomic_load(&blockingReads);
    fprintf(f, "{\"launches\": %ld, \"blocking_reads\": %ld, \"reads\": %ld, \"writes\": %ld, \"finishes\": %ld, \"launches_before_read\": [",
            atomic_load(&launches), n, atomic_load(&reads), atomic_load(&writes), atomic_load(&finishes));
    for (long i = 0; i < n && i < MARKS; i++) fprintf(f, "%s%ld", i ? ", " : "", marks[i]);
    fprintf(f, "]}\n");
    fclose(f);
}

// A stand-in for NVIDIA's libcuda.so.1, for tests on machines without an NVIDIA GPU: the driver
// API entry points CUDARuntime calls, carried out on the first OpenCL device (PoCL in CI). It
// exercises everything of Dive's CUDA path that runs on the host: device discovery, memory and
// views as addresses, pinned staging, events, module loading by PTX text, the kernelParams array,
// launch shapes, __local arguments as shared-space addresses, and graphs of kernel nodes (each node
// keeps its own copy of its arguments, replayed as launches). It cannot run PTX, so a module
// is recognised by its text among Kernels/PTX/*.ptx ($STAND_IN_CUDA_KERNELS) and the same kernel
// is built from Kernels/<program>.cl with the file's -D options. A real GPU is still the only test
// of the PTX itself.
//
// STAND_IN_CUDA_SMS (default 2) sets the multiprocessors it reports, so tests can shape launches
// for a large GPU (132: an H100); STAND_IN_CUDA_DEVICES (default 1) how many devices it lists, all
// on the same OpenCL device. Cooperative launches run where PoCL holds the whole grid at once: the
// occupancy it reports is PoCL's compute units over the multiprocessors, so with more
// multiprocessors than PoCL has threads no cooperative launch fits (CUDA's answer then).
// STAND_IN_CUDA_NO_COOPERATIVE_NODES=1 refuses cooperative graph nodes.
//
//   cc -shared -fPIC -o DIR/libcuda.so.1 libcuda.c -lOpenCL; LD_LIBRARY_PATH=DIR dive ... --device cuda:0
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
enum { OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, INVALID_DEVICE = 101, INVALID_IMAGE = 200, NOT_FOUND = 500,
       COOPERATIVE_LAUNCH_TOO_LARGE = 720 };

// Device memory: allocation i lives at ADDRESS_BASE + i·2^32, so address + offset names a view.
#define ADDRESS_BASE 0x100000000000ull
// Where the probe kernel reports dynamic shared memory to start: far from any scalar Dive passes.
#define SHARED_BASE 0x5eed00000000ull
#define MAX_PARAMS 128

static cl_context context;
static cl_command_queue queue;
static cl_device_id device;
static cl_mem *allocations;
static size_t allocationCount, allocationCapacity;

typedef struct { char name[128]; int count; int bytes[MAX_PARAMS]; } Entry;
typedef struct { cl_program program; Entry *entries; int entryCount; int probe; } Module;
typedef struct { cl_kernel kernel; Entry *entry; int probe; } Function;

static CUresult ready(void) {
    if (queue) return OK;
    cl_platform_id platform;
    cl_uint n = 0;
    if (clGetPlatformIDs(1, &platform, &n) != CL_SUCCESS || n == 0) return NOT_INITIALIZED;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, &n) != CL_SUCCESS || n == 0) return NOT_INITIALIZED;
    cl_int status;
    context = clCreateContext(NULL, 1, &device, NULL, NULL, &status);
    if (status != CL_SUCCESS) return NOT_INITIALIZED;
    queue = clCreateCommandQueue(context, device, 0, &status);
    return status == CL_SUCCESS ? OK : NOT_INITIALIZED;
}

// MARK: device discovery

/// A positive integer from the environment, or `fallback`.
static int setting(const char *name, int fallback) {
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : fallback;
}
static int multiprocessors(void) { return setting("STAND_IN_CUDA_SMS", 2); }
static int deviceCount(void) { return setting("STAND_IN_CUDA_DEVICES", 1); }

/// Blocks per multiprocessor that PoCL runs at once: its compute units shared among the multiprocessors.
static int residentPerMultiprocessor(void) {
    cl_uint units = 1;
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    return (int)units / multiprocessors();
}

CUresult cuInit(unsigned flags) { (void)flags; return ready(); }
CUresult cuDriverGetVersion(int *v) { *v = 12040; return OK; }
CUresult cuDeviceGetCount(int *n) { *n = ready() == OK ? deviceCount() : 0; return OK; }
CUresult cuDeviceGet(int *d, int i) { *d = i; return i >= 0 && i < deviceCount() ? OK : INVALID_DEVICE; }
CUresult cuDeviceGetName(char *name, int length, int d) {
    if (d == 0) snprintf(name, length, "Stand-in CUDA device on OpenCL");
    else snprintf(name, length, "Stand-in CUDA device %d on OpenCL", d);
    return OK;
}
CUresult cuDeviceTotalMem_v2(size_t *bytes, int d) { (void)d; *bytes = (size_t)4 << 30; return OK; }
CUresult cuDeviceGetAttribute(int *v, int attribute, int d) {
    if (d < 0 || d >= deviceCount()) return INVALID_DEVICE;
    switch (attribute) {
    case 1: *v = 1024; return OK;           // max threads per block
    case 8: *v = 48 << 10; return OK;       // shared memory per block
    case 16: *v = multiprocessors(); return OK;
    case 95: *v = 1; return OK;             // cooperative launches
    case 75: *v = 5; return OK;             // compute capability
    case 76: *v = 2; return OK;
    case 97: *v = 96 << 10; return OK;      // shared memory per block, opt-in
    default: *v = 0; return OK;
    }
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int d) { (void)d; *ctx = (void *)1; return ready(); }
CUresult cuCtxSetCurrent(void *ctx) { (void)ctx; return OK; }
CUresult cuGetErrorName(CUresult e, const char **name) {
    switch (e) {
    case OK: *name = "CUDA_SUCCESS"; return OK;
    case OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return OK;
    case INVALID_IMAGE: *name = "CUDA_ERROR_INVALID_IMAGE"; return OK;
    case NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; return OK;
    default: *name = "CUDA_ERROR_INVALID_VALUE"; return OK;
    }
}

// MARK: memory, streams, events

CUresult cuMemAlloc_v2(unsigned long long *address, size_t bytes) {
    cl_int status;
    cl_mem mem = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, NULL, &status);
    if (status != CL_SUCCESS) return OUT_OF_MEMORY;
    if (allocationCount == allocationCapacity) {
        allocationCapacity = allocationCapacity ? 2 * allocationCapacity : 1024;
        allocations = realloc(allocations, allocationCapacity * sizeof(cl_mem));
    }
    allocations[allocationCount] = mem;
    *address = ADDRESS_BASE + ((unsigned long long)allocationCount << 32);
    allocationCount++;
    return OK;
}

/// The allocation at `address` and the offset into it, or NULL for an address Dive never got.
static cl_mem lookup(unsigned long long address, size_t *offset) {
    if (address < ADDRESS_BASE) return NULL;
    size_t i = (address - ADDRESS_BASE) >> 32;
    *offset = address & 0xffffffffull;
    return i < allocationCount ? allocations[i] : NULL;
}

CUresult cuMemFree_v2(unsigned long long address) {
    size_t offset;
    cl_mem mem = lookup(address, &offset);
    if (!mem || offset) return INVALID_VALUE;
    clReleaseMemObject(mem);
    allocations[(address - ADDRESS_BASE) >> 32] = NULL;
    return OK;
}

CUresult cuMemHostAlloc(void **p, size_t bytes, unsigned flags) { (void)flags; *p = malloc(bytes); return *p ? OK : OUT_OF_MEMORY; }
CUresult cuMemFreeHost(void *p) { free(p); return OK; }

CUresult cuMemcpyHtoDAsync_v2(unsigned long long dst, const void *src, size_t bytes, void *stream) {
    (void)stream;
    size_t offset;
    cl_mem mem = lookup(dst, &offset);
    if (!mem) return INVALID_VALUE;
    return clEnqueueWriteBuffer(queue, mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL) == CL_SUCCESS ? OK : INVALID_VALUE;
}

CUresult cuMemcpyDtoHAsync_v2(void *dst, unsigned long long src, size_t bytes, void *stream) {
    (void)stream;
    size_t offset;
    cl_mem mem = lookup(src, &offset);
    if (!mem) return INVALID_VALUE;
    return clEnqueueReadBuffer(queue, mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL) == CL_SUCCESS ? OK : INVALID_VALUE;
}

CUresult cuStreamCreate(void **stream, unsigned flags) { (void)flags; *stream = (void *)2; return OK; }
CUresult cuStreamSynchronize(void *stream) { (void)stream; return clFinish(queue) == CL_SUCCESS ? OK : INVALID_VALUE; }
CUresult cuEventCreate(void **event, unsigned flags) { (void)flags; *event = (void *)3; return OK; }
CUresult cuEventRecord(void *event, void *stream) { (void)event; (void)stream; return OK; }
CUresult cuEventQuery(void *event) { (void)event; return OK; }
CUresult cuEventDestroy_v2(void *event) { (void)event; return OK; }

// MARK: modules

/// The kernel entries of a PTX text and their parameters' sizes.
static int parseEntries(const char *ptx, Entry **out) {
    int count = 0, capacity = 16;
    Entry *entries = calloc(capacity, sizeof(Entry));
    for (const char *p = strstr(ptx, ".entry "); p; p = strstr(p + 1, ".entry ")) {
        if (count == capacity) { capacity *= 2; entries = realloc(entries, capacity * sizeof(Entry)); }
        Entry *e = &entries[count++];
        memset(e, 0, sizeof *e);
        const char *name = p + 7, *open = strchr(name, '(');
        snprintf(e->name, sizeof e->name, "%.*s", (int)(open - name), name);
        const char *close = strchr(open, ')');
        for (const char *q = strstr(open, ".param"); q && q < close && e->count < MAX_PARAMS; q = strstr(q + 1, ".param")) {
            const char *end = strpbrk(q, ",\n)");
            const char *bracket = memchr(q, '[', end - q);
            if (bracket) e->bytes[e->count++] = atoi(bracket + 1);
            else if (strstr(q, ".u64") && strstr(q, ".u64") < end) e->bytes[e->count++] = 8;
            else e->bytes[e->count++] = 4;
        }
    }
    *out = entries;
    return count;
}

/// Kernels/PTX/<name>.ptx whose text is `ptx`, as Kernels/<program>.cl and its -D options.
static int identify(const char *ptx, char *program, size_t programSize, char *options, size_t optionsSize) {
    const char *dir = getenv("STAND_IN_CUDA_KERNELS");
    if (!dir) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/PTX", dir);
    DIR *d = opendir(path);
    if (!d) return 0;
    size_t length = strlen(ptx);
    int found = 0;
    for (struct dirent *f; !found && (f = readdir(d));) {
        size_t n = strlen(f->d_name);
        if (n < 5 || strcmp(f->d_name + n - 4, ".ptx") != 0) continue;
        snprintf(path, sizeof path, "%s/PTX/%s", dir, f->d_name);
        FILE *file = fopen(path, "rb");
        if (!file) continue;
        char *text = malloc(length + 2);
        size_t got = fread(text, 1, length + 1, file);
        fclose(file);
        // The embedded text may lack the file's final newline.
        if ((got == length || (got == length + 1 && text[length] == '\n')) && memcmp(text, ptx, length) == 0) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(n - 4), f->d_name);
            char *at = strchr(name, '@');
            options[0] = 0;
            if (at) {
                *at = 0;
                for (char *define = strtok(at + 1, ","); define; define = strtok(NULL, ",")) {
                    strncat(options, " -D ", optionsSize - strlen(options) - 1);
                    strncat(options, define, optionsSize - strlen(options) - 1);
                }
            }
            snprintf(program, programSize, "%s", name);
            found = 1;
        }
        free(text);
    }
    closedir(d);
    return found;
}

static char *readFile(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(n + 1);
    text[fread(text, 1, n, f)] = 0;
    fclose(f);
    return text;
}

CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned n, int *options, void **values) {
    (void)n; (void)options; (void)values;
    Module *m = calloc(1, sizeof(Module));
    m->entryCount = parseEntries(image, &m->entries);
    if (m->entryCount == 1 && strcmp(m->entries[0].name, "dynamic_shared_base") == 0) {
        m->probe = 1;                       // answered below, without OpenCL
        *module = m;
        return OK;
    }
    char program[256], defines[1024], path[4096];
    if (!identify(image, program, sizeof program, defines, sizeof defines)) return INVALID_IMAGE;
    const char *dir = getenv("STAND_IN_CUDA_KERNELS");
    snprintf(path, sizeof path, "%s/common.cl", dir);
    char *common = readFile(path);
    snprintf(path, sizeof path, "%s/%s.cl", dir, program);
    char *source = readFile(path);
    if (!common || !source) return INVALID_IMAGE;
    const char *sources[] = {common, "\n", source};
    cl_int status;
    m->program = clCreateProgramWithSource(context, 3, sources, NULL, &status);
    char buildOptions[1200];
    snprintf(buildOptions, sizeof buildOptions, "-cl-std=CL1.2%s", defines);
    if (status != CL_SUCCESS || clBuildProgram(m->program, 1, &device, buildOptions, NULL, NULL) != CL_SUCCESS) return INVALID_IMAGE;
    free(common);
    free(source);
    *module = m;
    return OK;
}

CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
    Module *m = module;
    for (int i = 0; i < m->entryCount; i++) {
        if (strcmp(m->entries[i].name, name) != 0) continue;
        Function *f = calloc(1, sizeof(Function));
        f->entry = &m->entries[i];
        f->probe = m->probe;
        if (!m->probe) {
            cl_int status;
            f->kernel = clCreateKernel(m->program, name, &status);
            if (status != CL_SUCCESS) return NOT_FOUND;
        }
        *function = f;
        return OK;
    }
    return NOT_FOUND;
}

CUresult cuFuncGetAttribute(int *v, int attribute, void *function) { (void)attribute; (void)function; *v = 0; return OK; }
CUresult cuFuncSetAttribute(void *function, int attribute, int v) { (void)function; (void)attribute; (void)v; return OK; }

// MARK: launches

/// Each parameter from the kernelParams array: an address inside an allocation is that buffer (a
/// sub-buffer for a view), an address inside dynamic shared memory a __local array up to the next
/// one, anything else the value itself.
CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned sharedBytes, void *stream, void **params, void **extra) {
    (void)stream; (void)extra;
    Function *f = function;
    Entry *e = f->entry;
    if (f->probe) {                         // dynamic_shared_base(out, _): stores where shared memory starts
        unsigned long long out = *(unsigned long long *)params[0], base = SHARED_BASE;
        return cuMemcpyHtoDAsync_v2(out, &base, 8, NULL);
    }
    static int skip = -1;                   // STAND_IN_CUDA_NO_KERNELS=1: launches do nothing (host cost alone)
    if (skip < 0) skip = getenv("STAND_IN_CUDA_NO_KERNELS") && strcmp(getenv("STAND_IN_CUDA_NO_KERNELS"), "1") == 0;
    if (skip) return OK;
    cl_mem views[MAX_PARAMS];
    int viewCount = 0;
    CUresult result = OK;
    for (int i = 0; i < e->count && result == OK; i++) {
        cl_int status = CL_SUCCESS;
        if (e->bytes[i] != 8) {
            status = clSetKernelArg(f->kernel, i, e->bytes[i], params[i]);
        } else {
            unsigned long long v = *(unsigned long long *)params[i];
            size_t offset;
            cl_mem mem = lookup(v, &offset);
            if (v >= SHARED_BASE && v < SHARED_BASE + sharedBytes) {
                unsigned long long end = SHARED_BASE + sharedBytes;
                for (int j = i + 1; j < e->count; j++) {
                    if (e->bytes[j] != 8) continue;
                    unsigned long long w = *(unsigned long long *)params[j];
                    if (w > v && w < end) end = w;
                }
                status = clSetKernelArg(f->kernel, i, end - v, NULL);
            } else if (mem && offset) {
                cl_buffer_region region;
                size_t size;
                clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL);
                region.origin = offset;
                region.size = size - offset;
                views[viewCount] = clCreateSubBuffer(mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &status);
                if (status == CL_SUCCESS) status = clSetKernelArg(f->kernel, i, sizeof(cl_mem), &views[viewCount++]);
            } else if (mem) {
                status = clSetKernelArg(f->kernel, i, sizeof(cl_mem), &mem);
            } else {
                status = clSetKernelArg(f->kernel, i, 8, &v);
            }
        }
        if (status != CL_SUCCESS) {
            fprintf(stderr, "stand-in libcuda: %s argument %d: OpenCL error %d\n", e->name, i, status);
            result = INVALID_VALUE;
        }
    }
    size_t global[3] = {(size_t)gx * bx, (size_t)gy * by, (size_t)gz * bz}, local[3] = {bx, by, bz};
    if (result == OK && clEnqueueNDRangeKernel(queue, f->kernel, 3, NULL, global, local, 0, NULL, NULL) != CL_SUCCESS) {
        fprintf(stderr, "stand-in libcuda: %s: clEnqueueNDRangeKernel failed\n", e->name);
        result = INVALID_VALUE;
    }
    for (int i = 0; i < viewCount; i++) clReleaseMemObject(views[i]);
    return result;
}

/// The blocks of `function` each multiprocessor holds at once (PoCL's share; see the header).
CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, void *function, int blockSize, size_t sharedBytes) {
    (void)function; (void)sharedBytes;
    *blocks = blockSize <= 1024 ? residentPerMultiprocessor() : 0;
    return OK;
}

/// Serialises cooperative launches: their blocks wait for each other on PoCL's threads, which
/// every queue of the process shares, so one runs at a time and is waited for.
static pthread_mutex_t cooperative = PTHREAD_MUTEX_INITIALIZER;

CUresult cuLaunchCooperativeKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                   unsigned sharedBytes, void *stream, void **params) {
    if ((long)gx * gy * gz > (long)residentPerMultiprocessor() * multiprocessors()) return COOPERATIVE_LAUNCH_TOO_LARGE;
    pthread_mutex_lock(&cooperative);
    CUresult r = cuLaunchKernel(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, params, NULL);
    if (r == OK && clFinish(queue) != CL_SUCCESS) r = INVALID_VALUE;
    pthread_mutex_unlock(&cooperative);
    return r;
}

// MARK: graphs

/// CUDA_KERNEL_NODE_PARAMS, first version.
typedef struct {
    void *function;
    unsigned gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes;
    void **params;
    void **extra;
} KernelNodeParams;

/// A kernel node: its launch, with its own copy of the argument values.
typedef struct {
    KernelNodeParams launch;
    unsigned char values[MAX_PARAMS][16];
    void *pointers[MAX_PARAMS];
    int cooperative;
} Node;

typedef struct { Node **nodes; int count, capacity; } Graph;

static void setNode(Node *n, const KernelNodeParams *p) {
    Entry *e = ((Function *)p->function)->entry;
    n->launch = *p;
    for (int i = 0; i < e->count; i++) {
        memcpy(n->values[i], p->params[i], e->bytes[i]);
        n->pointers[i] = n->values[i];
    }
    n->launch.params = n->pointers;
}

CUresult cuGraphCreate(void **graph, unsigned flags) { (void)flags; *graph = calloc(1, sizeof(Graph)); return OK; }
CUresult cuGraphDestroy(void *graph) { (void)graph; return OK; }   // nodes live on in the instantiated copy

CUresult cuGraphAddKernelNode(void **node, void *graph, void **dependencies, size_t count, const KernelNodeParams *p) {
    Graph *g = graph;
    // A chain: each node depends on the one added before it.
    if (count != (g->count ? 1u : 0u) || (count && dependencies[0] != g->nodes[g->count - 1])) return INVALID_VALUE;
    if (g->count == g->capacity) {
        g->capacity = g->capacity ? 2 * g->capacity : 64;
        g->nodes = realloc(g->nodes, g->capacity * sizeof(Node *));
    }
    Node *n = calloc(1, sizeof(Node));
    setNode(n, p);
    g->nodes[g->count++] = n;
    *node = n;
    return OK;
}

CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
    (void)flags;
    Graph *copy = calloc(1, sizeof(Graph)), *g = graph;
    *copy = *g;                             // the executable graph owns the nodes (tests do not free them)
    *exec = copy;
    return OK;
}

CUresult cuGraphExecDestroy(void *exec) { (void)exec; return OK; }

CUresult cuGraphExecKernelNodeSetParams(void *exec, void *node, const KernelNodeParams *p) {
    Graph *g = exec;
    for (int i = 0; i < g->count; i++) {
        if (g->nodes[i] != node) continue;
        if (g->nodes[i]->launch.function != p->function) return INVALID_VALUE;
        setNode(g->nodes[i], p);
        return OK;
    }
    return INVALID_VALUE;
}

/// CU_KERNEL_NODE_ATTRIBUTE_COOPERATIVE (2): the value's first int says whether the node's blocks wait for each other.
CUresult cuGraphKernelNodeSetAttribute(void *node, int attribute, const void *value) {
    // STAND_IN_CUDA_NO_COOPERATIVE_NODES=1: refuse, as a driver without cooperative graph nodes would.
    if (attribute != 2 || setting("STAND_IN_CUDA_NO_COOPERATIVE_NODES", 0)) return INVALID_VALUE;
    ((Node *)node)->cooperative = *(const int *)value;
    return OK;
}

CUresult cuGraphLaunch(void *exec, void *stream) {
    Graph *g = exec;
    for (int i = 0; i < g->count; i++) {
        KernelNodeParams *l = &g->nodes[i]->launch;
        CUresult r = g->nodes[i]->cooperative
            ? cuLaunchCooperativeKernel(l->function, l->gridX, l->gridY, l->gridZ, l->blockX, l->blockY, l->blockZ, l->sharedBytes,
                                        stream, l->params)
            : cuLaunchKernel(l->function, l->gridX, l->gridY, l->gridZ, l->blockX, l->blockY, l->blockZ, l->sharedBytes,
                             stream, l->params, NULL);
        if (r != OK) return r;
    }
    return OK;
}

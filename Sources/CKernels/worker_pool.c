// The CPU's worker threads. A split op hands out its pieces through one 64-bit ticket (the job's
// generation and its next piece); the calling thread takes pieces too, so a worker that wakes late
// takes none and the op is never much slower than on one thread. After a job a worker spins for a
// while (DIVE_POOL_SPIN_NS) before it sleeps: on a virtual machine, waking a sleeping thread costs
// about 50 µs, longer than most of a training step's ops.
#include "CKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define SPIN_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define SPIN_PAUSE() __asm__ __volatile__("yield")
#else
#define SPIN_PAUSE() ((void)0)
#endif

/// How long a worker looks for the next job before it sleeps.
#define DIVE_POOL_SPIN_NS 1000000L

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int started;
/// Written once, under `start_lock`, before any job.
static int worker_count;

// The job in force: written by its caller before the ticket publishes it.
static _Atomic(dive_pool_body) job_body;
static _Atomic(void *) job_context;
static _Atomic long job_count;
/// (generation << 32) | next piece: a piece is taken by advancing it, for the current generation only.
static _Atomic uint64_t ticket;
/// The next piece of a generation that has none.
#define CLOSED 0xffffffffu
/// Pieces of the current job not yet finished.
static _Atomic long unfinished;
/// 1 while a caller's job runs: a second caller, or a piece that splits again, runs inline.
static atomic_int busy;
/// Workers asleep on `wake`.
static atomic_int sleepers;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/// Takes and runs pieces of generation `generation` until none is left.
static void take_pieces(uint64_t generation) {
    for (;;) {
        uint64_t t = atomic_load(&ticket);
        if ((t >> 32) != generation) return;
        long index = (long)(t & 0xffffffffu);
        // Read before the claim: a new job changes the generation, so the claim below fails.
        dive_pool_body body = atomic_load_explicit(&job_body, memory_order_relaxed);
        void *context = atomic_load_explicit(&job_context, memory_order_relaxed);
        if (index >= atomic_load_explicit(&job_count, memory_order_relaxed)) return;
        // Pairs with the caller's release fence: fields of a newer job, read above, make the claim
        // see that job's closed ticket and fail.
        atomic_thread_fence(memory_order_acquire);
        if (!atomic_compare_exchange_weak(&ticket, &t, t + 1)) continue;
        body(context, index);
        atomic_fetch_sub_explicit(&unfinished, 1, memory_order_release);
    }
}

static void *worker(void *unused) {
    (void)unused;
    uint64_t seen = atomic_load(&ticket) >> 32;
    for (;;) {
        uint64_t generation = atomic_load(&ticket) >> 32;
        if (generation == seen) {
            long deadline = now_ns() + DIVE_POOL_SPIN_NS;
            for (int spins = 1;; spins++) {
                // A yield now and then gives the core to a thread that shares it (more threads
                // than cores, or another process): the one running a piece may be waiting for it.
                if ((spins & 31) == 0) sched_yield(); else SPIN_PAUSE();
                generation = atomic_load(&ticket) >> 32;
                if (generation != seen || ((spins & 255) == 0 && now_ns() > deadline)) break;
            }
        }
        if (generation == seen) {
            pthread_mutex_lock(&lock);
            atomic_fetch_add(&sleepers, 1);
            while ((generation = atomic_load(&ticket) >> 32) == seen) pthread_cond_wait(&wake, &lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&lock);
        }
        seen = generation;
        take_pieces(generation);
    }
    return 0;
}

static void start_workers(void) {
    for (int i = 0; i < worker_count; i++) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        // The pieces run Swift code that may recurse into BLAS: the default stack of the main thread.
        pthread_attr_setstacksize(&attributes, 8L << 20);
        if (pthread_create(&thread, &attributes, worker, 0) != 0) worker_count = i;
        pthread_attr_destroy(&attributes);
        if (worker_count == i) break;
    }
}

int dive_pool_start(int threads) {
    pthread_mutex_lock(&start_lock);
    if (!started) {
        started = 1;
        worker_count = (threads < 1 ? 1 : threads) - 1;
        start_workers();
    }
    const int running = worker_count + 1;
    pthread_mutex_unlock(&start_lock);
    return running;
}

void dive_pool_run(long count, dive_pool_body body, void *context) {
    int expected = 0;
    if (count <= 1 || count >= (long)CLOSED || worker_count == 0 || !atomic_compare_exchange_strong(&busy, &expected, 1)) {
        for (long i = 0; i < count; i++) body(context, i);
        return;
    }
    // First a generation with no pieces: a worker that read the last job's ticket before it ran
    // out, and this job's fields after, cannot take a piece with them.
    // Generations count modulo 2^32, as the ticket holds them.
    uint64_t closed = ((atomic_load(&ticket) >> 32) + 1) & 0xffffffffu, generation = (closed + 1) & 0xffffffffu;
    atomic_store(&ticket, (closed << 32) | CLOSED);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&job_body, body, memory_order_relaxed);
    atomic_store_explicit(&job_context, context, memory_order_relaxed);
    atomic_store_explicit(&job_count, count, memory_order_relaxed);
    atomic_store(&unfinished, count);
    atomic_store(&ticket, generation << 32);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
    }
    take_pieces(generation);
    // The last pieces are a worker's; should it share this core, yielding lets it finish them.
    for (int spins = 1; atomic_load_explicit(&unfinished, memory_order_acquire) > 0; spins++) {
        if (spins > 1000) sched_yield(); else SPIN_PAUSE();
    }
    atomic_store(&busy, 0);
}

// MPI for Swift: the header, and the handles and macros Swift cannot import (MPI_COMM_WORLD and
// the predefined types and operations are macros over OpenMPI's global objects).
#include <mpi.h>

static inline MPI_Comm dive_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype dive_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype dive_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype dive_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype dive_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op dive_mpi_sum(void) { return MPI_SUM; }
static inline void *dive_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *dive_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }

/// This process's rank among the ranks on its node (those that share its memory).
static inline int dive_mpi_local_rank(MPI_Comm comm) {
    MPI_Comm node;
    int rank = 0, local = 0;
    MPI_Comm_rank(comm, &rank);
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) != MPI_SUCCESS) return 0;
    MPI_Comm_rank(node, &local);
    MPI_Comm_free(&node);
    return local;
}

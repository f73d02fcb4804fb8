// OpenCL error codes by name, and `clCheck`, which turns a failing status into a DiveError.
import COpenCL

enum OpenCLErrorName {
    static func name(_ code: Int32) -> String {
        switch code {
        case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND"
        case CL_DEVICE_NOT_AVAILABLE: return "CL_DEVICE_NOT_AVAILABLE"
        case CL_COMPILER_NOT_AVAILABLE: return "CL_COMPILER_NOT_AVAILABLE"
        case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE"
        case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES"
        case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY"
        case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE"
        case CL_INVALID_VALUE: return "CL_INVALID_VALUE"
        case CL_INVALID_DEVICE: return "CL_INVALID_DEVICE"
        case CL_INVALID_CONTEXT: return "CL_INVALID_CONTEXT"
        case CL_INVALID_COMMAND_QUEUE: return "CL_INVALID_COMMAND_QUEUE"
        case CL_INVALID_MEM_OBJECT: return "CL_INVALID_MEM_OBJECT"
        case CL_INVALID_BINARY: return "CL_INVALID_BINARY"
        case CL_INVALID_BUILD_OPTIONS: return "CL_INVALID_BUILD_OPTIONS"
        case CL_INVALID_PROGRAM: return "CL_INVALID_PROGRAM"
        case CL_INVALID_PROGRAM_EXECUTABLE: return "CL_INVALID_PROGRAM_EXECUTABLE"
        case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME"
        case CL_INVALID_KERNEL: return "CL_INVALID_KERNEL"
        case CL_INVALID_ARG_INDEX: return "CL_INVALID_ARG_INDEX"
        case CL_INVALID_ARG_VALUE: return "CL_INVALID_ARG_VALUE"
        case CL_INVALID_ARG_SIZE: return "CL_INVALID_ARG_SIZE"
        case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS"
        case CL_INVALID_WORK_DIMENSION: return "CL_INVALID_WORK_DIMENSION"
        case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE"
        case CL_INVALID_WORK_ITEM_SIZE: return "CL_INVALID_WORK_ITEM_SIZE"
        case CL_INVALID_GLOBAL_OFFSET: return "CL_INVALID_GLOBAL_OFFSET"
        case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE"
        case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE"
        case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL driver is installed)"
        default: return "OpenCL error"
        }
    }
}

/// Throws `DiveError.openCL` unless `status` is CL_SUCCESS.
@inline(__always)
func clCheck(_ status: cl_int, _ call: @autoclosure () -> String, _ detail: @autoclosure () -> String = "") throws {
    if status != CL_SUCCESS { throw DiveError.openCL(call: call(), code: status, detail: detail()) }
}

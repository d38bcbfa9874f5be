# Imports libllama and llama.cpp's `common` library, built once per pinned version by
# scripts/bootstrap into a cache directory (never part of this repository).
include_guard(GLOBAL)

# scripts/bootstrap names its latest build in build/llama-dir (a new pinned version, or
# SWITCHYARD_CUDA=ON, is another directory). Follow it, unless -DSY_LLAMA_DIR named another.
set(_sy_llama_dir_file ${PROJECT_SOURCE_DIR}/build/llama-dir)
set(_sy_bootstrap_dir "")
if(EXISTS ${_sy_llama_dir_file})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_sy_llama_dir_file})
  file(STRINGS ${_sy_llama_dir_file} _sy_bootstrap_dir LIMIT_COUNT 1)
endif()
if(NOT SY_LLAMA_DIR OR SY_LLAMA_DIR STREQUAL "${SY_LLAMA_DIR_FROM_BOOTSTRAP}")
  set(SY_LLAMA_DIR "${_sy_bootstrap_dir}" CACHE PATH
      "llama.cpp source+build directory made by scripts/bootstrap" FORCE)
  set(SY_LLAMA_DIR_FROM_BOOTSTRAP "${_sy_bootstrap_dir}" CACHE INTERNAL "")
endif()
if(NOT SY_LLAMA_DIR OR NOT EXISTS ${SY_LLAMA_DIR}/.built)
  message(FATAL_ERROR "llama.cpp is not built: run scripts/bootstrap (or pass -DSY_LLAMA_DIR=...)")
endif()

file(GLOB_RECURSE _sy_llama_libs
  ${SY_LLAMA_DIR}/build/src/*.a
  ${SY_LLAMA_DIR}/build/common/*.a
  ${SY_LLAMA_DIR}/build/ggml/src/*.a
  ${SY_LLAMA_DIR}/build/vendor/*.a)
find_package(OpenMP QUIET)
find_package(Threads REQUIRED)

add_library(sy_llama INTERFACE)
target_include_directories(sy_llama SYSTEM INTERFACE
  ${SY_LLAMA_DIR}/src/include
  ${SY_LLAMA_DIR}/src/ggml/include
  ${SY_LLAMA_DIR}/src/common
  ${SY_LLAMA_DIR}/src/vendor)
# Static archives that reference each other: link them as one group.
target_link_libraries(sy_llama INTERFACE
  -Wl,--start-group ${_sy_llama_libs} -Wl,--end-group Threads::Threads ${CMAKE_DL_LIBS})
if(OpenMP_CXX_FOUND)
  target_link_libraries(sy_llama INTERFACE OpenMP::OpenMP_CXX)
endif()

# A CUDA build (SWITCHYARD_CUDA=ON scripts/bootstrap): the static ggml-cuda archive needs what
# its own CMake links (ggml/src/ggml-cuda/CMakeLists.txt without GGML_STATIC): the CUDA runtime,
# cuBLAS, the driver API unless built without VMM, and NCCL where llama.cpp found it.
set(_sy_llama_cache ${SY_LLAMA_DIR}/build/CMakeCache.txt)
if(EXISTS ${_sy_llama_cache})
  load_cache(${SY_LLAMA_DIR}/build READ_WITH_PREFIX _sy_llama_
    GGML_CUDA GGML_CUDA_NO_VMM GGML_CUDA_NCCL NCCL_LIBRARY)
endif()
set(SY_LLAMA_CUDA ${_sy_llama_GGML_CUDA})
if(SY_LLAMA_CUDA)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(sy_llama INTERFACE CUDA::cudart CUDA::cublas)
  if(NOT _sy_llama_GGML_CUDA_NO_VMM)
    target_link_libraries(sy_llama INTERFACE CUDA::cuda_driver)
  endif()
  if(_sy_llama_GGML_CUDA_NCCL AND _sy_llama_NCCL_LIBRARY AND NOT _sy_llama_NCCL_LIBRARY MATCHES "NOTFOUND$")
    target_link_libraries(sy_llama INTERFACE ${_sy_llama_NCCL_LIBRARY})
  endif()
  message(STATUS "llama.cpp: CUDA build (CUDA ${CUDAToolkit_VERSION})")
endif()

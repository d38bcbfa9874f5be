# Imports libllama and llama.cpp's `common` library, built once per pinned version by
# scripts/bootstrap into a cache directory (never part of this repository).
include_guard(GLOBAL)

if(NOT SY_LLAMA_DIR)
  if(EXISTS ${PROJECT_SOURCE_DIR}/build/llama-dir)
    file(STRINGS ${PROJECT_SOURCE_DIR}/build/llama-dir SY_LLAMA_DIR LIMIT_COUNT 1)
  endif()
endif()
if(NOT SY_LLAMA_DIR OR NOT EXISTS ${SY_LLAMA_DIR}/.built)
  message(FATAL_ERROR "llama.cpp is not built: run scripts/bootstrap (or pass -DSY_LLAMA_DIR=...)")
endif()
set(SY_LLAMA_DIR ${SY_LLAMA_DIR} CACHE PATH "llama.cpp source+build directory made by scripts/bootstrap")

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

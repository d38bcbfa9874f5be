# A small DSL that keeps the module layering visible:
#   sy_library(NAME core SRCS a.cc b.cc DEPS other_lib)    -> target sy_core
#   sy_test(NAME core_test SRCS a_test.cc DEPS sy_core)     -> GoogleTest binary + ctest entry
#     (DEFINES X=1 for its compile definitions; nothing at all when SY_BUILD_TESTS is OFF)
# Warnings are errors on our code only; third-party headers are included as SYSTEM.
include_guard(GLOBAL)

set(SY_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # g++ 12 at -O3 reports impossible overlaps inside std::string's inlined copies (GCC PR 105329).
  list(APPEND SY_WARNINGS -Wno-restrict)
endif()

function(sy_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(sy_${ARG_NAME} STATIC ${ARG_SRCS})
  target_include_directories(sy_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(sy_${ARG_NAME} PRIVATE ${SY_WARNINGS})
  target_link_libraries(sy_${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

function(sy_test)
  if(NOT SY_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS;DEFINES" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${SY_WARNINGS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_definitions(${ARG_NAME} PRIVATE ${ARG_DEFINES})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()

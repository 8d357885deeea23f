# Helper of the fuzz smoke tests, run with cmake -P.
#   -DMODE=build -DSOURCE=<fuzz dir> -DBUILD=<dir> -DCC=<clang> -DCXX=<clang++>: configure and build the targets
#   -DMODE=run -DTARGET=<name> -DBUILD=<dir> -DSEEDS=<dir> -DSECONDS=<n>: run one target; fail on any finding
if(MODE STREQUAL "build")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env CC=${CC} CXX=${CXX}
                          ${CMAKE_COMMAND} -S ${SOURCE} -B ${BUILD} -DNMQTT_WERROR=ON
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring the fuzz targets failed")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "building the fuzz targets failed")
  endif()
elseif(MODE STREQUAL "run")
  set(corpus ${BUILD}/corpus-${TARGET})
  set(findings ${BUILD}/findings-${TARGET})
  file(MAKE_DIRECTORY ${corpus} ${findings})
  execute_process(COMMAND ${BUILD}/${TARGET} ${corpus} ${SEEDS} -max_total_time=${SECONDS} -max_len=4096
                          -timeout=10 -rss_limit_mb=2048 -artifact_prefix=${findings}/ -print_final_stats=1
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(LENGTH "${out}" n)
    if(n GREATER 6000)
      math(EXPR start "${n} - 6000")
      string(SUBSTRING "${out}" ${start} 6000 out)
    endif()
    message(FATAL_ERROR "${TARGET} found a problem (inputs saved in ${findings}; replay: ${BUILD}/${TARGET} <file>;"
                        " NMQTT_FUZZ_TRACE=1 prints the session steps):\n${out}")
  endif()
  string(REGEX MATCH "stat::number_of_executed_units: [0-9]+" runs "${out}")
  message(STATUS "${TARGET}: ${runs}")
else()
  message(FATAL_ERROR "fuzz_smoke.cmake: MODE must be build or run")
endif()

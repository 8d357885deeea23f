# Warnings for nmqtt's own targets (third-party headers are system includes and stay quiet).
function(nmqtt_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
                         -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
                         -Wimplicit-fallthrough)
  if(NMQTT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

add_library(llmdesk_warnings INTERFACE)
target_compile_options(llmdesk_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)

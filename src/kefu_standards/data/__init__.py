"""Package data of kefu_standards (lexicons, weights, examples); read via resources."""

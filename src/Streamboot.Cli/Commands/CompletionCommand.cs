using System.CommandLine;

namespace Streamboot.Cli.Commands;

/// <summary>
/// <c>streamboot completion bash</c>: a completion script that asks
/// streamboot itself (System.CommandLine's <c>[suggest]</c> directive), so
/// completions always match the installed verbs.
/// </summary>
public static class CompletionCommand
{
    private const string BashScript = """
        # streamboot bash completion. Install: streamboot completion bash > /etc/bash_completion.d/streamboot
        _streamboot_complete() {
            local IFS=$'\n'
            COMPREPLY=( $(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _streamboot_complete streamboot
        """;

    public static Command Create()
    {
        var shell = new Argument<string>("SHELL") { Description = "Shell to complete in (bash)" };
        shell.AcceptOnlyFromAmong("bash");
        var command = new Command("completion", "Print a shell completion script: streamboot completion bash > /etc/bash_completion.d/streamboot") { shell };
        command.SetAction(_ =>
        {
            Console.Out.WriteLine(BashScript);
            return ExitCodes.Ok;
        });
        return command;
    }
}

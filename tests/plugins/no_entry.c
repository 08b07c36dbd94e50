/* no_entry.c - a shared object that is not a harness plugin: it exports no entry function. */
int no_entry_something(void);
int no_entry_something(void)
{
    return 42;
}
